/* Data-parallel training (distributed.h): the ranks of the run, quiet output on all ranks but
 * 0, the split of each global batch into shards, the gradient averaging installed on the model,
 * the agreed stop, the check that all ranks hold the same parameters, and each rank's device.
 * Everything here is the same whether the transport below is MPI or the one-process stub. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "distributed.h"
#include "exit_codes.h"
#include "glowcl/archive.h"
#include "signals.h"

static cli_ranks ranks = {0, 1, 0, 1};
static FILE *rank_errors = NULL; /* the real stderr of a silenced rank */
static int lockstep = 0;         /* the ranks train together: a lone failure must end them all */
static int met = 0;              /* this rank has taken part in the meeting before training */

/* Before training every rank takes part once in this vote, from cli_dist_attach (0: ready) or,
 * if it ends before, from cli_dist_finish (its exit code); no other collective comes first, so
 * the calls pair up. The largest code wins, on all ranks. */
static int meet_before_training(int code)
{
    met = 1;
    return ranks.size > 1 ? cli_mpi_max(code) : code;
}

/* Rank 0 alone speaks: the others' stdout and stderr (and those of the OpenCL driver, which
 * writes to the descriptors) go to /dev/null, their error messages to a copy of stderr. */
static void silence_this_rank(void)
{
    int copy = dup(STDERR_FILENO);
    rank_errors = copy >= 0 ? fdopen(copy, "w") : NULL;
    if (rank_errors) setvbuf(rank_errors, NULL, _IONBF, 0);
    int null = open("/dev/null", O_WRONLY);
    if (null < 0) return;
    fflush(stdout);
    fflush(stderr);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    close(null);
}

int cli_dist_start(int *argc, char ***argv)
{
    int rc = cli_mpi_start(argc, argv, &ranks);
    if (rc == EXIT_OK && ranks.size > 1 && ranks.rank != 0) silence_this_rank();
    return rc;
}

int cli_dist_finish(int code)
{
    /* A stop by signal and success are agreed by all ranks; any other failure during training
     * may be this rank's alone, with the others blocked in the next allreduce. */
    int agreed = code == EXIT_OK || code == cli_stop_exit_code();
    if (!met) meet_before_training(code);
    fflush(stdout);
    fflush(stderr);
    cli_mpi_stop(ranks.size > 1 && lockstep && !agreed, code);
    if (rank_errors) fclose(rank_errors);
    rank_errors = NULL;
    return code;
}

const cli_ranks *cli_dist_ranks(void) { return &ranks; }
int cli_dist_is_root(void) { return ranks.rank == 0; }
FILE *cli_dist_errors(void) { return rank_errors ? rank_errors : stderr; }

const char *cli_dist_prefix(void)
{
    static char prefix[48];
    if (ranks.size == 1) return "";
    snprintf(prefix, sizeof prefix, "rank %d of %d: ", ranks.rank, ranks.size);
    return prefix;
}

int cli_dist_single_process(const char *what)
{
    if (ranks.size == 1) return EXIT_OK;
    fprintf(stderr,
            "glowcl: %s runs in one process; only `train moons|csv|images` trains on "
            "several (this is rank %d of %d)\n",
            what, ranks.rank, ranks.size);
    return EXIT_USAGE;
}

int cli_dist_check_batch(long batch)
{
    if (batch % ranks.size == 0) return EXIT_OK;
    fprintf(stderr,
            "glowcl: --batch %ld is the global batch and must split evenly over the %d "
            "processes: give a multiple of %d\n",
            batch, ranks.size, ranks.size);
    return EXIT_USAGE;
}

/* The mean over the ranks of each rank's mean over its equal shard: the whole batch's mean. */
static gc_status average_over_ranks(void *context, double *grads, size_t count, double *loss)
{
    (void)context;
    cli_mpi_sum(grads, count);
    cli_mpi_sum(loss, 1);
    double scale = 1.0 / (double)ranks.size;
    for (size_t i = 0; i < count; i++) grads[i] *= scale;
    *loss *= scale;
    return GC_OK;
}

int cli_dist_attach(gc_model *model)
{
    int code = meet_before_training(EXIT_OK);
    if (code != EXIT_OK) { /* said once, by rank 0 (the failed rank said why) */
        fprintf(stderr,
                "glowcl: %sanother rank ended before training began (its message says "
                "why); stopping\n",
                cli_dist_prefix());
        return code;
    }
    lockstep = 1;
    if (ranks.size > 1) gc_model_set_gradient_reducer(model, average_over_ranks, NULL);
    return EXIT_OK;
}

gc_status cli_dist_train_step(gc_model *model, const double *x, size_t batch, size_t dim,
                              const gc_adam_config *adam, double *loss)
{
    if (ranks.size == 1) return gc_model_train_step(model, x, batch, adam, loss);
    /* Every rank has the whole global batch, so the ActNorms' data-dependent init can use its
     * exact statistics with no communication (the price: the first step's memory is that of
     * the global batch). */
    if (!gc_model_is_initialized(model)) GC_TRY(gc_model_data_init(model, x, batch));
    size_t rows = batch / (size_t)ranks.size;
    return gc_model_train_step(model, x + (size_t)ranks.rank * rows * dim, rows, adam, loss);
}

int cli_dist_stop_requested(void)
{
    int signal_here = cli_stop_requested();
    if (ranks.size == 1) return signal_here;
    int agreed = cli_mpi_max(signal_here);
    if (agreed && !signal_here) cli_stop_adopt(agreed); /* stop and exit as the others do */
    return agreed;
}

int cli_dist_any(int flag) { return ranks.size == 1 ? flag != 0 : cli_mpi_max(flag != 0); }

int cli_dist_check_params(gc_model *model, long step, long every, int force)
{
    if (ranks.size == 1 || (!force && (every <= 0 || step % every != 0))) return EXIT_OK;
    size_t count = gc_model_param_count(model);
    double *params = malloc((count ? count : 1) * sizeof *params);
    /* A rank that cannot read its parameters still takes part, with a hash no CRC32 has. */
    uint64_t hash = UINT64_MAX, lowest = 0, highest = 0;
    if (params && gc_model_get_params(model, params) == GC_OK)
        hash = gc_crc32(0, params, count * sizeof *params);
    free(params);
    cli_mpi_min_max(hash, &lowest, &highest);
    if (lowest == highest) return EXIT_OK;
    fprintf(cli_dist_errors(),
            "glowcl: %sthe ranks' parameters differ after step %ld (CRC32 %08llx here; %08llx to "
            "%08llx over the ranks): they no longer train one model. Devices of different kinds "
            "round differently; run every rank on the same kind of device\n",
            cli_dist_prefix(), step, (unsigned long long)hash, (unsigned long long)lowest,
            (unsigned long long)highest);
    return EXIT_FAILED;
}

/* "-d 0,1,2": the entry at this rank's position on its machine. */
static int device_from_list(gc_device_request *request, char *storage, size_t size)
{
    const char *entry = request->device;
    int count = 1;
    for (const char *p = entry; *p; p++) count += *p == ',';
    if (ranks.local_rank >= count) {
        fprintf(cli_dist_errors(),
                "glowcl: %s-d %s lists %d devices, but %d processes of the "
                "run are on this machine; list one per process\n",
                cli_dist_prefix(), request->device, count, ranks.local_size);
        return EXIT_USAGE;
    }
    for (int i = 0; i < ranks.local_rank; i++) entry = strchr(entry, ',') + 1;
    size_t length = strcspn(entry, ",");
    if (length == 0 || length >= size) {
        fprintf(cli_dist_errors(), "glowcl: %s-d %s: entry %d is %s\n", cli_dist_prefix(),
                request->device, ranks.local_rank, length ? "too long" : "empty");
        return EXIT_USAGE;
    }
    memcpy(storage, entry, length);
    storage[length] = '\0';
    request->device = storage;
    return EXIT_OK;
}

int cli_dist_device_request(gc_device_request *request, char *storage, size_t size)
{
    if (request->reference) return EXIT_OK;
    if (request->device && strchr(request->device, ','))
        return device_from_list(request, storage, size);
    if (request->device || ranks.local_size == 1) return EXIT_OK;
    /* No device named: the processes on this machine take the devices of the best kind in
     * turn (4 ranks, 4 GPUs: one each). A failure here is left to the runtime to report. */
    gc_device_info *devices = NULL;
    size_t count = 0, matching = 0;
    int named = 0;
    if (gc_devices_list(&devices, &count) != GC_OK || count == 0) return EXIT_OK;
    size_t *order = malloc(count * sizeof *order);
    if (order && gc_device_rank(devices, count, request, order, &matching, &named) == GC_OK &&
        matching > 0) {
        size_t same_kind = 0;
        for (size_t i = 0; i < matching; i++)
            if (devices[order[i]].kind == devices[order[0]].kind) order[same_kind++] = order[i];
        size_t pick = order[(size_t)ranks.local_rank % same_kind];
        snprintf(storage, size, "%d", devices[pick].index);
        request->device = storage;
        if (ranks.local_rank == 0 && (size_t)ranks.local_size > same_kind)
            fprintf(cli_dist_errors(),
                    "glowcl: %s%d processes on this machine share %zu %s "
                    "device%s\n",
                    cli_dist_prefix(), ranks.local_size, same_kind,
                    gc_device_kind_name(devices[pick].kind), same_kind > 1 ? "s" : "");
    }
    free(order);
    gc_devices_free(devices);
    return EXIT_OK;
}
