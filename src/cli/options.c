/* Flag tables and their parsing, shared by every glowcl command (options.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exit_codes.h"
#include "options.h"

static void print_usage(FILE *out, const char *usage, const cli_option *options, size_t count)
{
    fprintf(out, "%s\n\nOptions:\n", usage);
    for (size_t i = 0; i < count; i++) {
        const cli_option *o = &options[i];
        char left[64];
        if (o->short_name)
            snprintf(left, sizeof left, "-%c, --%s%s%s", o->short_name, o->long_name,
                     o->value_name ? " " : "", o->value_name ? o->value_name : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", o->long_name, o->value_name ? " " : "",
                     o->value_name ? o->value_name : "");
        fprintf(out, "  %-30s %s\n", left, o->help);
    }
    fprintf(out, "  %-30s %s\n", "-h, --help", "show this help");
}

static int store_value(const cli_option *o, const char *value)
{
    char *end = NULL;
    errno = 0;
    switch (o->kind) {
    case OPT_INT: {
        long v = strtol(value, &end, 10);
        if (errno || end == value || *end) {
            fprintf(stderr, "glowcl: --%s expects an integer, got '%s'\n", o->long_name, value);
            return EXIT_USAGE;
        }
        *(long *)o->target = v;
        return EXIT_OK;
    }
    case OPT_DOUBLE: {
        double v = strtod(value, &end);
        if (errno || end == value || *end || !isfinite(v)) {
            fprintf(stderr, "glowcl: --%s expects a number, got '%s'\n", o->long_name, value);
            return EXIT_USAGE;
        }
        *(double *)o->target = v;
        return EXIT_OK;
    }
    case OPT_STRING: *(const char **)o->target = value; return EXIT_OK;
    case OPT_FLAG: *(int *)o->target = 1; return EXIT_OK;
    }
    return EXIT_USAGE;
}

/* argv[*i] is a flag of the table: stores it (and its value, argv[*i + 1] if not inline, with
 * *i moved past it). EXIT_USAGE after a message if it is not in the table or its value is bad;
 * `where` ends the message for an unknown flag. */
static int parse_flag(int argc, char **argv, int *i, const cli_option *options, size_t count,
                      const char *where)
{
    const char *arg = argv[*i];
    const cli_option *match = NULL;
    const char *inline_value = NULL;
    if (arg[1] == '-') {
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t length = eq ? (size_t)(eq - name) : strlen(name);
        for (size_t k = 0; k < count && !match; k++)
            if (strlen(options[k].long_name) == length &&
                strncmp(options[k].long_name, name, length) == 0)
                match = &options[k];
        if (eq) inline_value = eq + 1;
    } else {
        for (size_t k = 0; k < count && !match; k++)
            if (options[k].short_name == arg[1]) match = &options[k];
        if (match && arg[2]) inline_value = arg + 2;
    }
    if (!match) {
        fprintf(stderr, "glowcl: unknown option '%s' %s\n", arg, where);
        return EXIT_USAGE;
    }
    if (match->kind == OPT_FLAG) {
        if (inline_value) {
            fprintf(stderr, "glowcl: --%s takes no value\n", match->long_name);
            return EXIT_USAGE;
        }
        *(int *)match->target = 1;
        return EXIT_OK;
    }
    const char *value = inline_value;
    if (!value) {
        if (*i + 1 >= argc) {
            fprintf(stderr, "glowcl: --%s needs a value\n", match->long_name);
            return EXIT_USAGE;
        }
        value = argv[++*i];
    }
    return store_value(match, value);
}

/* A flag, not a value: "-" alone and negative numbers are positional arguments. */
static int is_flag(const char *arg)
{
    return arg[0] == '-' && arg[1] != '\0' && !(arg[1] >= '0' && arg[1] <= '9');
}

static int is_help(const char *arg) { return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0; }

int cli_parse(int argc, char **argv, int first, const cli_option *options, size_t count,
              const char *usage, const char **positional, size_t max_positional,
              size_t *positional_count)
{
    size_t positionals = 0;
    for (int i = first; i < argc; i++) {
        const char *arg = argv[i];
        if (is_help(arg)) {
            print_usage(stdout, usage, options, count);
            return -1;
        }
        if (!is_flag(arg)) {
            if (positionals >= max_positional) {
                fprintf(stderr, "glowcl: unexpected argument '%s' (see --help)\n", arg);
                return EXIT_USAGE;
            }
            positional[positionals++] = arg;
            continue;
        }
        int rc = parse_flag(argc, argv, &i, options, count, "(see --help)");
        if (rc != EXIT_OK) return rc;
    }
    if (positional_count) *positional_count = positionals;
    return EXIT_OK;
}

int cli_parse_leading(int argc, char **argv, int first, const cli_option *options, size_t count,
                      const char *where, int *stop)
{
    int i = first;
    for (; i < argc && is_flag(argv[i]) && !is_help(argv[i]); i++) {
        int rc = parse_flag(argc, argv, &i, options, count, where);
        if (rc != EXIT_OK) return rc;
    }
    *stop = i;
    return EXIT_OK;
}

int cli_parse_numbers(const char *text, double *values, size_t max, size_t *count)
{
    size_t n = 0;
    const char *p = text;
    while (*p) {
        char *end = NULL;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno || !isfinite(v) || n == max) return 0;
        values[n++] = v;
        p = end;
        if (*p == ',')
            p++;
        else if (*p)
            return 0;
    }
    *count = n;
    return n > 0;
}

int cli_memory_mode(const char *name, int *low)
{
    if (strcmp(name, "store") == 0 || strcmp(name, "low") == 0) {
        *low = strcmp(name, "low") == 0;
        return EXIT_OK;
    }
    fprintf(stderr, "glowcl: --memory must be store or low, not '%s'\n", name);
    return EXIT_USAGE;
}
