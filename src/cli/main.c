/* glowcl: the command line. A thin layer over the library: each command parses its flags,
 * calls the library and maps statuses to exit codes. */
#include <stdio.h>
#include <string.h>

#include "cmd_bench.h"
#include "cmd_check.h"
#include "cmd_devices.h"
#include "cmd_eval.h"
#include "cmd_interpolate.h"
#include "cmd_latents.h"
#include "cmd_sample.h"
#include "device_choice.h"
#include "distributed.h"
#include "exit_codes.h"
#include "options.h"
#include "train_affine.h"
#include "train_images.h"
#include "train_points.h"

static const char usage[] =
    "Usage: glowcl COMMAND [options]\n"
    "\n"
    "Glow normalizing flows on any OpenCL device (GPU, CPU, integrated graphics) or on the\n"
    "plain C reference path.\n"
    "\n"
    "Commands:\n"
    "  devices    list OpenCL platforms and devices (--json for JSON)\n"
    "  check      check every flow op and model: inverse, log-det and gradients against\n"
    "             finite differences, and the OpenCL device against the reference path\n"
    "  train      train a flow: `train affine` (the affine warm-up), `train moons` (the 2-D\n"
    "             Glow on two-moons), `train csv --data FILE.csv|npy:FILE` (your own points),\n"
    "             `train images --data cifar10:DIR|png:DIR|idx:DIR|npy:FILE` (the multi-scale\n"
    "             image Glow; --pad N pads MNIST-size images for the squeezes)\n"
    "  sample     draw from a model file (CSV, a PNG scatter plot, or an image grid)\n"
    "  eval       mean negative log-likelihood (and bits/dim) of data under a model file\n"
    "  bench      time training steps, convolutions and memory (compare with PyTorch by\n"
    "             tools/bench/compare.py)\n"
    "\n"
    "Device flags (every command; before the command or after it):\n"
    "  -d, --device N|P:D|NAME   device N of the `glowcl devices` list, device D of platform P,\n"
    "                            or the best device whose name contains NAME (case-insensitive).\n"
    "                            Indices are 0-based.\n"
    "  -p, --platform N          only devices of platform N (0-based)\n"
    "  -t, --device-type TYPE    gpu, cpu, accelerator or all\n"
    "      --reference           plain C reference path in double, no OpenCL at all\n"
    "      --kernels auto|cpu|gpu  the kernel set: auto (the default) gives GPUs and\n"
    "                            accelerators the gpu set, CPUs the cpu set (glowcl devices\n"
    "                            shows each device's); GLOWCL_KERNELS=auto|cpu|gpu overrides it.\n"
    "                            A run on a device's other set says so at start-up.\n"
    "  GLOWCL_DEVICE=N|P:D|NAME|reference sets a default; any device flag replaces it.\n"
    "  Without a choice glowcl ranks devices GPU > accelerator > CPU, discrete before\n"
    "  integrated, newer OpenCL C, more memory, and uses the first whose kernels build (then\n"
    "  the reference path, with a warning). A device chosen by flag never falls back.\n"
    "\n"
    "Environment:\n"
    "  GLOWCL_KERNEL_DIR=DIR     build kernels from DIR/*.cl instead of the embedded copies;\n"
    "                            a build failure then stops the run instead of falling back.\n"
    "\n"
    "Several devices or machines (a build with MPI):\n"
    "  mpirun -np N glowcl train moons|csv|images ...  trains one model data-parallel: each\n"
    "  process takes a device (-d 0,1,... lists one per process on a machine; without -d the\n"
    "  processes of a machine take its GPUs in turn) and 1/N of every --batch; gradients are\n"
    "  averaged (MPI_Allreduce) before each step. Rank 0 prints and writes the files.\n"
    "\n"
    "Exit codes:\n"
    "  0 success   1 a check failed, training diverged, or a score (NLL, bits/dim) or a sample\n"
    "  is not a finite number (the message names the rows)   2 bad usage or unknown device\n"
    "  3 unreadable, unwritable or malformed file (the trainers check --out and --log before\n"
    "  training)   4 OpenCL error, kernel build failure or out of memory   130/143 training\n"
    "  stopped by SIGINT/SIGTERM after writing its checkpoint (a second signal exits at once,\n"
    "  writing nothing)\n"
    "\n"
    "Run `glowcl COMMAND --help` for the options of a command.\n";

static int run_train(int argc, char **argv)
{
    const char *what = argc > 2 ? argv[2] : "";
    if (strcmp(what, "affine") == 0) return cli_train_affine(argc, argv);
    if (strcmp(what, "moons") == 0 || strcmp(what, "csv") == 0) return cli_train_points(argc, argv);
    if (strcmp(what, "images") == 0) return cli_train_images(argc, argv);
    fprintf(stderr, "Usage: glowcl train affine|moons|csv|images [options]  (--help after the kind "
                    "lists them)\n");
    return strcmp(what, "--help") == 0 || strcmp(what, "-h") == 0 ? EXIT_OK : EXIT_USAGE;
}

/* `glowcl -d 0 train moons`: device flags before the command move after its words (the
 * command, and the kind of `train`), where the command's own flags stand, so that a device
 * flag after the command still wins. A flag other than a device flag there is refused. */
static int move_leading_device_flags(int argc, char **argv)
{
    cli_device_flags ignored = CLI_DEVICE_FLAGS_DEFAULT;
    cli_option device_options[] = {CLI_DEVICE_OPTIONS(ignored)};
    int command = 1;
    int rc = cli_parse_leading(argc, argv, 1, device_options,
                               sizeof device_options / sizeof device_options[0],
                               "before the command (only the device flags may stand there; see "
                               "glowcl --help)",
                               &command);
    if (rc || command == 1 || command == argc) return rc;
    int words = 1;
    if (strcmp(argv[command], "train") == 0 && command + 1 < argc && argv[command + 1][0] != '-')
        words = 2;
    /* Rotate argv[1 .. command + words) so that the command's words come first. */
    char *moved[argc];
    int flags = command - 1;
    for (int i = 0; i < flags; i++) moved[i] = argv[1 + i];
    for (int i = 0; i < words; i++) argv[1 + i] = argv[command + i];
    for (int i = 0; i < flags; i++) argv[1 + words + i] = moved[i];
    return EXIT_OK;
}

static int run_command(int argc, char **argv)
{
    int rc = move_leading_device_flags(argc, argv);
    if (rc) return rc;
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        printf("%s", argc < 2          ? ""
                     : cli_mpi_built() ? "This glowcl is built with MPI.\n"
                                       : "This glowcl is built without MPI.\n");
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    if (argv[1][0] == '-') { /* device flags and no command after them */
        fprintf(stderr, "glowcl: no command after the device flags (see glowcl --help)\n");
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "train") == 0) return run_train(argc, argv);
    if ((rc = cli_dist_single_process(argv[1]))) return rc;
    if (strcmp(argv[1], "devices") == 0) return cmd_devices(argc, argv);
    if (strcmp(argv[1], "check") == 0) return cmd_check(argc, argv);
    if (strcmp(argv[1], "bench") == 0) return cmd_bench(argc, argv);
    if (strcmp(argv[1], "sample") == 0) return cmd_sample(argc, argv);
    if (strcmp(argv[1], "eval") == 0) return cmd_eval(argc, argv);
    if (strcmp(argv[1], "encode") == 0) return cmd_encode(argc, argv);
    if (strcmp(argv[1], "decode") == 0) return cmd_decode(argc, argv);
    if (strcmp(argv[1], "interpolate") == 0) return cmd_interpolate(argc, argv);
    fprintf(stderr, "glowcl: unknown command '%s' (see glowcl --help)\n", argv[1]);
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    /* Started by mpirun, glowcl joins the run first (a plain start touches no MPI at all). */
    int rc = cli_dist_start(&argc, &argv);
    if (rc == EXIT_OK) rc = run_command(argc, argv);
    return cli_dist_finish(rc);
}
