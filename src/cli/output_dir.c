/* --out DIR made and checked before training (output_dir.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exit_codes.h"
#include "output_dir.h"

/* mkdir that also makes one missing parent (for the default runs/NAME); 1 on success. */
static int make_dir(const char *path)
{
    if (mkdir(path, 0777) == 0 || errno == EEXIST) return 1;
    /* one level of parents, for the default runs/NAME */
    char parent[4096];
    snprintf(parent, sizeof parent, "%s", path);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = '\0';
        if (mkdir(parent, 0777) != 0 && errno != EEXIST) return 0;
        return mkdir(path, 0777) == 0 || errno == EEXIST;
    }
    return 0;
}

int cli_out_path(char *out, size_t size, const char *dir, const char *name)
{
    if ((size_t)snprintf(out, size, "%s/%s", dir, name) < size) return EXIT_OK;
    fprintf(stderr, "glowcl: --out %s: the path is too long\n", dir);
    return EXIT_INPUT;
}

int cli_prepare_out_dir(const char *dir, const char *file)
{
    struct stat info;
    if (!make_dir(dir)) {
        fprintf(stderr, "glowcl: cannot create %s: %s\n", dir, strerror(errno));
        return EXIT_INPUT;
    }
    /* mkdir's EEXIST also stands for a file of that name. */
    if (stat(dir, &info) != 0 || !S_ISDIR(info.st_mode)) {
        fprintf(stderr,
                "glowcl: --out %s is not a directory (give a directory for the model "
                "file and pictures)\n",
                dir);
        return EXIT_INPUT;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        fprintf(stderr, "glowcl: cannot write in --out %s: %s\n", dir, strerror(errno));
        return EXIT_INPUT;
    }
    char path[4096];
    int rc = cli_out_path(path, sizeof path, dir, file);
    if (rc) return rc;
    if (stat(path, &info) == 0 && S_ISDIR(info.st_mode)) {
        fprintf(stderr, "glowcl: cannot save %s: it is a directory\n", path);
        return EXIT_INPUT;
    }
    return EXIT_OK;
}
