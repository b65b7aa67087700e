/* test_optim.c - Adam and gradient descent against independent computations:
 * a first step worked out by hand, and the textbook recurrences evaluated in
 * long double; strides and padding respected. */
#include "testutil.h"

#include <math.h>
#include <string.h>

#include "cofi/optim.h"

int main(void)
{
    cofi_optim_params o = cofi_optim_defaults();
    CHECK(o.kind == COFI_OPT_ADAM && o.learning_rate == 0.1 && o.beta1 == 0.9 &&
              o.beta2 == 0.999 && o.epsilon == 1e-7,
          "defaults are the notebook's (adam, lr 0.1, 0.9, 0.999, 1e-7)");

    /* First Adam step by hand: m = 0.1 g, v = 0.001 g^2,
     * alpha = lr sqrt(0.001) / 0.1, so p -= lr g / (|g| + eps / sqrt(0.001)). */
    {
        double p = 1.0, g = 2.0, m = 0, v = 0;
        cofi_optim_block b = {&p, 1, &g, 1, {&m, &v}, 1, 1, 1};
        cofi_adam_step(&o, 1, &b);
        double want = 1.0 - 0.1 * 2.0 / (2.0 + 1e-7 / sqrt(0.001));
        CHECK_CLOSE(p, want, 1e-14, "adam step 1");
        CHECK_CLOSE(m, 0.2, 1e-15, "adam m after step 1");
        CHECK_CLOSE(v, 0.004, 1e-15, "adam v after step 1");
    }

    /* 50 steps on a 3 x 5 block with stride 8 (padding must stay untouched),
     * gradients changing sign, against the textbook form in long double:
     * m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2,
     * p -= lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps). */
    {
        enum { R = 3, C = 5, LD = 8 };
        double P[R * LD], G[R * LD], M[R * LD], V[R * LD];
        long double rp[R * C], rm[R * C] = {0}, rv[R * C] = {0};
        for (int i = 0; i < R * LD; i++) P[i] = G[i] = M[i] = V[i] = -99.0;
        for (int r = 0; r < R; r++)
            for (int c = 0; c < C; c++) {
                P[r * LD + c] = rp[r * C + c] = 0.1 * (r - c);
                M[r * LD + c] = V[r * LD + c] = 0;
            }
        cofi_optim_params q = o;
        q.learning_rate = 0.01;
        for (int t = 1; t <= 50; t++) {
            for (int r = 0; r < R; r++)
                for (int c = 0; c < C; c++)
                    G[r * LD + c] = sin(0.3 * t + r) * (c + 1) + 0.01 * P[r * LD + c];
            cofi_optim_block b = {P, LD, G, LD, {M, V}, LD, R, C};
            cofi_adam_step(&q, t, &b);
            long double b1 = 0.9L, b2 = 0.999L;
            long double alpha = 0.01L * sqrtl(1 - powl(b2, t)) / (1 - powl(b1, t));
            for (int r = 0; r < R; r++)
                for (int c = 0; c < C; c++) {
                    int n = r * C + c;
                    long double g = G[r * LD + c];
                    rm[n] = b1 * rm[n] + (1 - b1) * g;
                    rv[n] = b2 * rv[n] + (1 - b2) * g * g;
                    rp[n] -= alpha * rm[n] / (sqrtl(rv[n]) + 1e-7L);
                }
        }
        double worst = 0;
        for (int r = 0; r < R; r++)
            for (int c = 0; c < C; c++) {
                worst = fmax(worst, fabs(P[r * LD + c] - (double)rp[r * C + c]));
                CHECK_CLOSE(M[r * LD + c], (double)rm[r * C + c], 1e-12, "adam m");
                CHECK_CLOSE(V[r * LD + c], (double)rv[r * C + c], 1e-12, "adam v");
            }
        CHECK(worst < 1e-12, "adam 50 steps: |p - textbook| = %.3g", worst);
        for (int r = 0; r < R; r++)
            for (int c = C; c < LD; c++)
                CHECK(P[r * LD + c] == -99.0 && M[r * LD + c] == -99.0, "padding touched");
    }

    /* Gradient descent: p -= lr g exactly, with different strides. */
    {
        double P[6] = {1, 2, 3, 4, 5, 6}, G[4] = {10, 20, 30, 40};
        cofi_optim_params q = o;
        q.kind = COFI_OPT_GD;
        q.learning_rate = 0.5;
        cofi_optim_block b = {P, 3, G, 2, {NULL, NULL}, 0, 2, 2};
        cofi_optim_step(COFI_OPT_GD)(&q, 1, &b);
        double want[6] = {1 - 5, 2 - 10, 3, 4 - 15, 5 - 20, 6};
        for (int i = 0; i < 6; i++) CHECK(P[i] == want[i], "gd P[%d] = %g, want %g", i, P[i], want[i]);
    }

    /* Registry */
    enum cofi_optimizer k;
    CHECK(cofi_optim_parse("gd", &k) == 0 && k == COFI_OPT_GD, "parse gd");
    CHECK(cofi_optim_parse("adam", &k) == 0 && k == COFI_OPT_ADAM, "parse adam");
    CHECK(cofi_optim_parse("sgd", &k) != 0, "unknown optimizer rejected");
    CHECK(cofi_optim_nstate(COFI_OPT_ADAM) == 2 && cofi_optim_nstate(COFI_OPT_GD) == 0, "state sizes");
    return cofi_test_finish("test_optim");
}
