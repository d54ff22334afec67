/* gc_gemm: the reference on a product worked by hand, argument checks, and the OpenCL path
 * (CLBlast) against the reference on non-square shapes that are not multiples of 16. */
#include <math.h>

#include "glowcl/gemm.h"
#include "harness.h"

START_TEST(reference_small_product)
{
    gc_runtime *rt = gc_test_open_reference();
    gc_tensor a, b, c;
    ck_assert_int_eq(gc_tensor_init2(&a, rt, 2, 3), GC_OK);
    ck_assert_int_eq(gc_tensor_init2(&b, rt, 3, 2), GC_OK);
    ck_assert_int_eq(gc_tensor_init2(&c, rt, 2, 2), GC_OK);
    const double av[6] = {1, 2, 3, 4, 5, 6}, bv[6] = {7, 8, 9, 10, 11, 12}, cv[4] = {1, 1, 1, 1};
    gc_tensor_upload(&a, av);
    gc_tensor_upload(&b, bv);
    gc_tensor_upload(&c, cv);
    gc_matrix ma = {&a, 0, 3, 0}, mb = {&b, 0, 2, 0};
    ck_assert_int_eq(gc_gemm(rt, 2, 2, 3, 2.0, ma, mb, 10.0, &c, 0, 2), GC_OK);
    double out[4];
    gc_tensor_download(&c, out);
    /* A·B = [[58, 64], [139, 154]] */
    ck_assert_double_eq(out[0], 2 * 58 + 10);
    ck_assert_double_eq(out[1], 2 * 64 + 10);
    ck_assert_double_eq(out[2], 2 * 139 + 10);
    ck_assert_double_eq(out[3], 2 * 154 + 10);

    /* Bᵀ·Aᵀ = (A·B)ᵀ, with beta = 0 ignoring C's old contents */
    gc_tensor_fill(&c, NAN);
    gc_matrix bt = {&b, 0, 2, 1}, at = {&a, 0, 3, 1};
    ck_assert_int_eq(gc_gemm(rt, 2, 2, 3, 1.0, bt, at, 0.0, &c, 0, 2), GC_OK);
    gc_tensor_download(&c, out);
    ck_assert_double_eq(out[0], 58);
    ck_assert_double_eq(out[1], 139);
    ck_assert_double_eq(out[2], 64);
    ck_assert_double_eq(out[3], 154);

    /* Out of bounds, too small a leading dimension, zero sizes. */
    ck_assert_int_eq(gc_gemm(rt, 3, 2, 3, 1.0, ma, mb, 0.0, &c, 0, 2), GC_ERR_ARGUMENT);
    gc_matrix narrow = {&a, 0, 2, 0};
    ck_assert_int_eq(gc_gemm(rt, 2, 2, 3, 1.0, narrow, mb, 0.0, &c, 0, 2), GC_ERR_ARGUMENT);
    ck_assert_int_eq(gc_gemm(rt, 2, 2, 0, 1.0, ma, mb, 0.0, &c, 0, 2), GC_ERR_ARGUMENT);
    ck_assert_int_eq(gc_gemm(rt, 2, 2, 3, 1.0, ma, mb, 0.0, &c, 1, 2), GC_ERR_ARGUMENT);
    gc_tensor_release(&a);
    gc_tensor_release(&b);
    gc_tensor_release(&c);
    gc_runtime_close(rt);
}
END_TEST

START_TEST(device_matches_reference)
{
    gc_runtime *rt = gc_test_open_device(_i);
    gc_check_report report = {0};
    ck_assert_msg(gc_check_gemm(rt, gc_test_seed(), &report) == GC_OK, "%s", gc_last_error());
    gc_test_assert_report(&report, gc_runtime_description(rt));
    ck_assert_int_ge(report.count, 6);
    gc_check_report_free(&report);
    gc_runtime_close(rt);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gemm");
    TCase *ref = tcase_create("reference");
    tcase_add_test(ref, reference_small_product);
    suite_add_tcase(s, ref);
    TCase *device = tcase_create("on every OpenCL device");
    /* CLBlast compiles its kernels at the first call: 12–26 s on PoCL when the cache is cold. */
    tcase_set_timeout(device, 600);
    GC_TEST_DEVICE_LOOP(device, device_matches_reference);
    suite_add_tcase(s, device);
    return gc_test_run(s, 1);
}
