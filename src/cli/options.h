/* Flag tables and their parsing, shared by every glowcl command. */
#ifndef GLOWCL_CLI_OPTIONS_H
#define GLOWCL_CLI_OPTIONS_H

#include <stddef.h>

typedef enum { OPT_FLAG, OPT_INT, OPT_DOUBLE, OPT_STRING } cli_option_kind;

typedef struct cli_option {
    const char *long_name; /* without the dashes */
    char short_name;       /* 0 if none */
    cli_option_kind kind;
    void *target; /* int*, long*, double* or const char** */
    const char *value_name;
    const char *help;
} cli_option;

/* Parses argv[first..] against the table; positional arguments are collected in order.
 * Prints a message and returns EXIT_USAGE on an unknown flag or a bad value, -1 on --help
 * (after printing the usage), EXIT_OK otherwise. */
int cli_parse(int argc, char **argv, int first, const cli_option *options, size_t count,
              const char *usage, const char **positional, size_t max_positional,
              size_t *positional_count);
/* Parses the flags of argv[first..] up to the first argument that is not a flag (or -h,
 * --help), whose index goes to *stop. EXIT_USAGE after a message on a flag not in the table
 * (`where` says where the flags stand, for the message) or a bad value, else EXIT_OK. */
int cli_parse_leading(int argc, char **argv, int first, const cli_option *options, size_t count,
                      const char *where, int *stop);

/* "1.5,-2" → at most `max` finite numbers; 1 if the text is such a list, else 0. */
int cli_parse_numbers(const char *text, double *values, size_t max, size_t *count);
/* "store" or "low" (--memory) → *low; EXIT_USAGE with a message if neither. */
int cli_memory_mode(const char *name, int *low);

#endif
