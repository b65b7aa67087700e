/* cofi/h5io.h - parallel HDF5, behind a few collective helpers (src/h5io.c
 * holds every H5 call in cofi).
 *
 * Every function here is collective over the file's communicator and returns
 * the same status on every rank (errors are agreed inside), so a caller may
 * go straight on to the next collective.  A caller that did rank-local work
 * that can fail must cofi_agree() before calling in.
 *
 * Files are written under a temporary name in the same directory and renamed
 * over the final name by cofi_h5_commit() only once complete, closed and
 * synced: a killed job never leaves a half-written file under the final name. */
#ifndef COFI_H5IO_H
#define COFI_H5IO_H

#include "cofi/comm.h"
#include "cofi/text.h"
#include "cofi/types.h"

#define COFI_PATH_MAX 4096

typedef struct {
    int64_t id; /* hid_t of the open file, -1 when closed */
    const cofi_comm *comm;
    char path[COFI_PATH_MAX]; /* the name users see */
    char tmp[COFI_PATH_MAX];  /* while writing: the temporary name */
    int64_t planned;          /* while writing: bytes the datasets created need */
    int64_t reserved;         /* ... and the bytes allocated on disk for them
                               * ahead of the writes (rank 0's figure; see
                               * h5io.c) */
    double created;           /* while writing: when (cofi_now) it was created */
} cofi_h5;

/* Read COFI_MPIIO_HINTS and COFI_H5_ALIGN from rank 0's environment (see
 * h5io.c; README, "Parallel file systems") for every file opened or created
 * from then on.  Collective; an unreadable setting is COFI_ERR_VALUE on
 * every rank.  cofi_h5_teardown() frees them before MPI_Finalize;
 * cofi_h5_tuning() describes them for a run's header, or is NULL. */
int cofi_h5_setup(const cofi_comm *c);
void cofi_h5_teardown(void);
const char *cofi_h5_tuning(void);

/* Open an existing file for reading.  Checks first, on every rank, that the
 * path exists, is a regular file and is readable, and that it is HDF5. */
int cofi_h5_open(const cofi_comm *c, const char *path, cofi_h5 *f);
/* Start writing `path` (under a temporary name). */
int cofi_h5_create(const cofi_comm *c, const char *path, cofi_h5 *f);
/* Check up front, before any long work, that `path` could be created (rank 0
 * tries; all ranks get the verdict). */
int cofi_h5_check_output(const cofi_comm *c, const char *path);
/* Finish a file from cofi_h5_create: close, sync, rename over `path`. */
int cofi_h5_commit(cofi_h5 *f);
/* The HDF5 library's version ("1.10.8") into buf. */
void cofi_h5_library(char *buf, size_t len);
/* Close; a file still being written is removed.  Safe on a closed handle. */
void cofi_h5_close(cofi_h5 *f);

enum cofi_h5_class { COFI_H5_OTHER, COFI_H5_INT, COFI_H5_FLOAT, COFI_H5_STRING };
typedef struct {
    int exists;
    int ndims;         /* 0 for a scalar */
    cofi_idx dims[2];
    int type_class;    /* enum cofi_h5_class */
} cofi_h5_info;
/* What a dataset is (exists = 0 if absent; absent groups on the path too). */
int cofi_h5_info_of(cofi_h5 *f, const char *name, cofi_h5_info *info);
int cofi_h5_exists(cofi_h5 *f, const char *name, int *exists);

/* Read rows [row0, row0 + nrows) of a 1-D dataset, or of a 2-D dataset with
 * `cols` columns into buf with row stride ld (ignored for 1-D: pass cols 0).
 * Each rank passes its own rows; nrows may be 0. */
int cofi_h5_read_val(cofi_h5 *f, const char *name, cofi_idx row0, cofi_idx nrows,
                     cofi_idx cols, cofi_val *buf, cofi_idx ld);
int cofi_h5_read_idx(cofi_h5 *f, const char *name, cofi_idx row0, cofi_idx nrows,
                     cofi_idx *buf);
/* A scalar dataset (or a 1-element 1-D one). */
int cofi_h5_read_scalar_val(cofi_h5 *f, const char *name, cofi_val *v);

/* Create a dataset of global_rows (x cols; cols 0 for 1-D) and write each
 * rank's rows [row0, row0 + nrows) collectively.  chunk_rows > 0 makes it
 * chunked by that many rows. */
int cofi_h5_write_val(cofi_h5 *f, const char *name, cofi_idx global_rows, cofi_idx cols,
                      cofi_idx row0, cofi_idx nrows, const cofi_val *buf, cofi_idx ld);
int cofi_h5_write_val_chunked(cofi_h5 *f, const char *name, cofi_idx global_rows,
                              cofi_idx cols, cofi_idx chunk_rows, cofi_idx row0,
                              cofi_idx nrows, const cofi_val *buf, cofi_idx ld);
int cofi_h5_write_idx(cofi_h5 *f, const char *name, cofi_idx global_rows, cofi_idx cols,
                      cofi_idx row0, cofi_idx nrows, const cofi_idx *buf, cofi_idx ld);
int cofi_h5_write_scalar_val(cofi_h5 *f, const char *name, cofi_val v);

/* String datasets (fixed-length on write; fixed or variable-length on read).
 * Each rank reads or writes its rows; `local` holds nrows strings. */
int cofi_h5_read_strings(cofi_h5 *f, const char *name, cofi_idx row0, cofi_idx nrows,
                         cofi_strings *out);
int cofi_h5_write_strings(cofi_h5 *f, const char *name, cofi_idx global_rows, cofi_idx row0,
                          const cofi_strings *local);

/* The strings at rows[0..n) (any order) of a 1-D string dataset; each rank
 * passes its own rows (n may be 0). */
int cofi_h5_read_strings_at(cofi_h5 *f, const char *name, cofi_idx n, const cofi_idx *rows,
                            cofi_strings *out);

/* A 2-D float64 dataset written in several collective slabs of rows: every
 * rank calls cofi_h5_dset_write the same number of times (nrows may be 0). */
typedef struct {
    int64_t id;
    cofi_h5 *f;
    cofi_idx rows, cols;
    char name[256];
    uint64_t checksum; /* this rank's terms of the dataset's checksum so far */
} cofi_h5_dset;
int cofi_h5_dset_create(cofi_h5 *f, const char *name, cofi_idx rows, cofi_idx cols,
                        cofi_idx chunk_rows, cofi_idx chunk_cols, cofi_h5_dset *d);
int cofi_h5_dset_write(cofi_h5_dset *d, cofi_idx row0, cofi_idx nrows, const cofi_val *buf,
                       cofi_idx ld);
int cofi_h5_dset_close(cofi_h5_dset *d);

/* Create a group (and its parents) if absent. */
int cofi_h5_group(cofi_h5 *f, const char *name);

/* Attributes of object `obj` ("/" for the root group).  Setters must be
 * called by every rank with the same value. */
int cofi_h5_attr_set_idx(cofi_h5 *f, const char *obj, const char *name, cofi_idx v);
int cofi_h5_attr_set_val(cofi_h5 *f, const char *obj, const char *name, cofi_val v);
int cofi_h5_attr_set_str(cofi_h5 *f, const char *obj, const char *name, const char *v);
/* Getters: COFI_ERR_FORMAT "'f': attribute 'n' of '/' is missing" if absent,
 * or of the wrong type. */
int cofi_h5_attr_get_idx(cofi_h5 *f, const char *obj, const char *name, cofi_idx *v);
int cofi_h5_attr_get_val(cofi_h5 *f, const char *obj, const char *name, cofi_val *v);
int cofi_h5_attr_get_str(cofi_h5 *f, const char *obj, const char *name, char *buf,
                         size_t size);
int cofi_h5_attr_exists(cofi_h5 *f, const char *obj, const char *name, int *exists);

/* Do two paths name the same file?  (Outputs must never overwrite inputs.) */
int cofi_same_file(const char *a, const char *b);

#endif
