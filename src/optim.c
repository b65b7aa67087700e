/* optim.c - the optimizer registry: names, step functions, state sizes. */
#include "cofi/optim.h"
#include "cofi/error.h"

#include <string.h>

static const struct {
    const char *name;
    cofi_optim_step_fn step;
    int nstate;
} optimizers[COFI_OPT_COUNT] = {
    [COFI_OPT_ADAM] = {"adam", cofi_adam_step, 2},
    [COFI_OPT_GD] = {"gd", cofi_gd_step, 0},
};

const char *cofi_optim_name(enum cofi_optimizer kind) { return optimizers[kind].name; }
cofi_optim_step_fn cofi_optim_step(enum cofi_optimizer kind) { return optimizers[kind].step; }
int cofi_optim_nstate(enum cofi_optimizer kind) { return optimizers[kind].nstate; }

int cofi_optim_parse(const char *name, enum cofi_optimizer *kind)
{
    for (int i = 0; i < COFI_OPT_COUNT; i++)
        if (strcmp(name, optimizers[i].name) == 0) {
            *kind = (enum cofi_optimizer)i;
            return COFI_OK;
        }
    return cofi_error(COFI_ERR_USAGE, "unknown optimizer '%s' (choose adam or gd)", name);
}

cofi_optim_params cofi_optim_defaults(void)
{
    cofi_optim_params o = {COFI_OPT_ADAM, 0.1, 0.9, 0.999, 1e-7};
    return o;
}
