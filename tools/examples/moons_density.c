/* Embedding glowcl in a C program: load a trained model, get log p(x) of a few points, and draw
 * samples. Build: meson builds it as build/tools/examples/moons_density; or, against an
 * installed glowcl, `cc moons_density.c $(pkg-config --cflags --libs glowcl)`.
 * Run: moons_density runs/moons-gauss/model.glowcl */
#include <stdio.h>

#include <glowcl/flow.h>
#include <glowcl/runtime.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODEL.glowcl\n", argv[0]);
        return 2;
    }
    /* The best OpenCL device, or the reference path when there is none. */
    gc_runtime_options options = {.request = GC_DEVICE_REQUEST_DEFAULT, .log = stderr};
    gc_runtime *rt = NULL;
    gc_model *model = NULL;
    gc_status status = gc_runtime_open(&rt, &options);
    if (status == GC_OK) status = gc_model_load(&model, rt, argv[1]);
    if (status != GC_OK) {
        fprintf(stderr, "error: %s\n", gc_last_error());
        gc_runtime_close(rt);
        return 1;
    }
    printf("model on %s\n", gc_runtime_description(rt));

    /* On the upper moon, on the lower moon, and in the empty middle. */
    const double points[3][2] = {{0.0, 1.0}, {1.0, -0.5}, {0.5, 0.25}};
    double log_p[3];
    status = gc_model_log_prob(model, &points[0][0], 3, log_p);
    for (int i = 0; status == GC_OK && i < 3; i++)
        printf("log p(%5.2f, %5.2f) = %8.3f\n", points[i][0], points[i][1], log_p[i]);

    double samples[5][2];
    gc_rng rng;
    gc_rng_seed(&rng, 7);
    if (status == GC_OK) status = gc_model_sample(model, 5, 1.0, &rng, &samples[0][0]);
    for (int i = 0; status == GC_OK && i < 5; i++)
        printf("sample %d: (%6.3f, %6.3f)\n", i, samples[i][0], samples[i][1]);
    if (status != GC_OK) fprintf(stderr, "error: %s\n", gc_last_error());
    gc_model_free(model);
    gc_runtime_close(rt);
    return status == GC_OK ? 0 : 1;
}
