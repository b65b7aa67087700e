/* cofi/optim.h - optimizers, one per file, all with one signature.
 *
 * A step updates a block of `rows` x `cols` parameters P (row stride ldp)
 * from gradients G (stride ldg) and the optimizer's own state S (nstate
 * arrays, each with stride lds).  t is the 1-based step number.  Elementwise,
 * so the result does not depend on how rows are split across threads. */
#ifndef COFI_OPTIM_H
#define COFI_OPTIM_H

#include <stdint.h>
#include "cofi/types.h"

enum cofi_optimizer { COFI_OPT_ADAM = 0, COFI_OPT_GD = 1, COFI_OPT_COUNT };

typedef struct {
    enum cofi_optimizer kind;
    cofi_val learning_rate;
    cofi_val beta1, beta2, epsilon; /* Adam */
} cofi_optim_params;

typedef struct {
    cofi_val *P;
    cofi_idx ldp;
    const cofi_val *G;
    cofi_idx ldg;
    cofi_val *S[2];
    cofi_idx lds;
    cofi_idx rows, cols;
} cofi_optim_block;

typedef void (*cofi_optim_step_fn)(const cofi_optim_params *o, int64_t t,
                                   const cofi_optim_block *blk);

/* Adam exactly as Keras 3 computes it:
 *   m += (g - m)(1 - beta1);  v += (g^2 - v)(1 - beta2)
 *   alpha = lr sqrt(1 - beta2^t) / (1 - beta1^t)
 *   p -= (m alpha) / (sqrt(v) + epsilon)
 * State: S[0] = m, S[1] = v. */
void cofi_adam_step(const cofi_optim_params *o, int64_t t, const cofi_optim_block *blk);
/* Adam's alpha for step t, as cofi_adam_step computes it. */
cofi_val cofi_adam_alpha(const cofi_optim_params *o, int64_t t);
/* Plain gradient descent: p -= lr g.  No state. */
void cofi_gd_step(const cofi_optim_params *o, int64_t t, const cofi_optim_block *blk);

/* State arrays per parameter array, the most any optimizer keeps (Adam: m, v). */
enum { COFI_OPTIM_MAX_STATE = 2 };

/* Name <-> kind ("adam", "gd"), the step function, and how many state arrays
 * (at most COFI_OPTIM_MAX_STATE). */
const char *cofi_optim_name(enum cofi_optimizer kind);
int cofi_optim_parse(const char *name, enum cofi_optimizer *kind);
cofi_optim_step_fn cofi_optim_step(enum cofi_optimizer kind);
int cofi_optim_nstate(enum cofi_optimizer kind);
cofi_optim_params cofi_optim_defaults(void);

#endif
