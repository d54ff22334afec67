/* Tensors: reference results on inputs with known answers, the OpenCL kernels against the
 * reference on random inputs, determinism of reductions, and argument errors. */
#include <math.h>
#include <string.h>

#include "glowcl/tensor.h"
#include "harness.h"

START_TEST(reference_ops_known_values)
{
    gc_runtime *rt = gc_test_open_reference();
    gc_tensor x, y, mean, var;
    size_t shape[3] = {2, 2, 2}; /* (outer, channels, inner) */
    ck_assert_int_eq(gc_tensor_init(&x, rt, 3, shape), GC_OK);
    ck_assert_int_eq(gc_tensor_init(&y, rt, 3, shape), GC_OK);
    ck_assert_int_eq(gc_tensor_init1(&mean, rt, 2), GC_OK);
    ck_assert_int_eq(gc_tensor_init1(&var, rt, 2), GC_OK);
    /* channel 0 holds 1,2,5,6 and channel 1 holds 3,4,7,8 */
    const double values[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    ck_assert_int_eq(gc_tensor_upload(&x, values), GC_OK);
    ck_assert_int_eq(gc_tensor_channel_moments(&mean, &var, &x, 2, 2, 2), GC_OK);
    double m[2], v[2];
    gc_tensor_download(&mean, m);
    gc_tensor_download(&var, v);
    ck_assert_double_eq(m[0], 3.5);
    ck_assert_double_eq(m[1], 5.5);
    ck_assert_double_eq(v[0], 4.25); /* (6.25 + 2.25 + 2.25 + 6.25) / 4 */
    ck_assert_double_eq(v[1], 4.25);
    ck_assert_int_eq(gc_tensor_channel_sum(&mean, &x, 2, 2, 2), GC_OK);
    gc_tensor_download(&mean, m);
    ck_assert_double_eq(m[0], 14.0);
    ck_assert_double_eq(m[1], 22.0);
    /* The same values as 4 samples of 2: column sums 1+3+5+7 and 2+4+6+8. */
    gc_tensor rows;
    ck_assert_int_eq(gc_tensor_init2(&rows, rt, 4, 2), GC_OK);
    ck_assert_int_eq(gc_tensor_upload(&rows, values), GC_OK);
    ck_assert_int_eq(gc_tensor_sum_batch(&mean, &rows), GC_OK);
    gc_tensor_download(&mean, m);
    ck_assert_double_eq(m[0], 16.0);
    ck_assert_double_eq(m[1], 20.0);
    ck_assert_int_eq(gc_tensor_sum_batch(&mean, &x), GC_ERR_ARGUMENT); /* not (N, D) */
    gc_tensor_release(&rows);

    ck_assert_int_eq(gc_tensor_fill(&y, 2.0), GC_OK);
    ck_assert_int_eq(gc_tensor_axpy(&y, 0.5, &x), GC_OK);
    ck_assert_int_eq(gc_tensor_mul(&y, &y, &x), GC_OK);
    ck_assert_int_eq(gc_tensor_scale(&y, 2.0), GC_OK);
    double out[8];
    gc_tensor_download(&y, out);
    for (int i = 0; i < 8; i++)
        ck_assert_double_eq(out[i], 2.0 * (2.0 + 0.5 * values[i]) * values[i]);

    gc_tensor_release(&x);
    gc_tensor_release(&y);
    gc_tensor_release(&mean);
    gc_tensor_release(&var);
    gc_runtime_close(rt);
}
END_TEST

START_TEST(shape_errors_are_reported)
{
    gc_runtime *rt = gc_test_open_reference();
    gc_tensor a, b, c;
    ck_assert_int_eq(gc_tensor_init1(&a, rt, 6), GC_OK);
    ck_assert_int_eq(gc_tensor_init1(&b, rt, 7), GC_OK);
    ck_assert_int_eq(gc_tensor_axpy(&a, 1.0, &b), GC_ERR_ARGUMENT);
    /* a layout beyond the input, and an output with fewer elements than channels */
    ck_assert_int_eq(gc_tensor_channel_sum(&b, &a, 2, 4, 1), GC_ERR_ARGUMENT);
    ck_assert_int_eq(gc_tensor_channel_sum(&a, &b, 1, 7, 1), GC_ERR_ARGUMENT);
    ck_assert_int_eq(gc_tensor_channel_sum(&b, &a, 2, 3, 1), GC_OK); /* first 6 of 7 */
    size_t zero[2] = {3, 0};
    ck_assert_int_eq(gc_tensor_init(&c, rt, 2, zero), GC_ERR_ARGUMENT);
    ck_assert_int_eq(gc_tensor_init(&c, rt, 5, zero), GC_ERR_ARGUMENT);
    gc_tensor_release(&a);
    gc_tensor_release(&b);
    gc_runtime_close(rt);
}
END_TEST

START_TEST(device_matches_reference)
{
    gc_runtime *rt = gc_test_open_device(_i);
    gc_check_report report = {0};
    ck_assert_msg(gc_check_tensor_ops(rt, gc_test_seed(), &report) == GC_OK, "%s", gc_last_error());
    gc_test_assert_report(&report, gc_runtime_description(rt));
    gc_check_report_free(&report);
    gc_runtime_close(rt);
}
END_TEST

START_TEST(device_transfers_and_reductions_repeat_bit_for_bit)
{
    gc_runtime *rt = gc_test_open_device(_i);
    enum { outer = 300, channels = 3, inner = 50, n = outer * channels * inner };
    static double values[n], back[n];
    /* Values a float holds exactly, so the round trip must give the same bits back. */
    for (int i = 0; i < n; i++) values[i] = sin(0.37 * i) * 1000.0 + 0.125;
    for (int i = 0; i < n; i++) values[i] = (double)(float)values[i];
    gc_tensor x, sum;
    size_t shape[3] = {outer, channels, inner};
    ck_assert_int_eq(gc_tensor_init(&x, rt, 3, shape), GC_OK);
    ck_assert_int_eq(gc_tensor_init1(&sum, rt, channels), GC_OK);
    ck_assert_int_eq(gc_tensor_upload(&x, values), GC_OK);
    ck_assert_int_eq(gc_tensor_download(&x, back), GC_OK);
    ck_assert_int_eq(memcmp(values, back, sizeof values), 0);

    double first[channels], again[channels];
    ck_assert_int_eq(gc_tensor_channel_sum(&sum, &x, outer, channels, inner), GC_OK);
    ck_assert_int_eq(gc_tensor_download(&sum, first), GC_OK);
    for (int r = 0; r < 5; r++) {
        ck_assert_int_eq(gc_tensor_channel_sum(&sum, &x, outer, channels, inner), GC_OK);
        ck_assert_int_eq(gc_tensor_download(&sum, again), GC_OK);
        ck_assert_int_eq(memcmp(first, again, sizeof first), 0);
    }
    gc_tensor_release(&x);
    gc_tensor_release(&sum);
    gc_runtime_close(rt);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tensor");
    TCase *ref = tcase_create("reference");
    tcase_add_test(ref, reference_ops_known_values);
    tcase_add_test(ref, shape_errors_are_reported);
    suite_add_tcase(s, ref);
    TCase *device = tcase_create("on every OpenCL device");
    tcase_set_timeout(device, 300);
    GC_TEST_DEVICE_LOOP(device, device_matches_reference);
    GC_TEST_DEVICE_LOOP(device, device_transfers_and_reductions_repeat_bit_for_bit);
    suite_add_tcase(s, device);
    return gc_test_run(s, 1);
}
