/* The invertible 1x1 convolution's weight from its LU factors, W = P·L̃·Ũ with L̃ = L' + I
 * (L' strictly lower) and Ũ = U' + diag(sign · exp(log_s)) (U' strictly upper), its inverse, and
 * the gradients of the factors. Parameters sit at offsets of one buffer: lower, upper and perm
 * (D×D), log_s and sign (D). The products themselves run through cl/dense.cl. */

typedef struct {
    uint lower, upper, log_s, perm, sign, dim;
} invconv_layout;

static float lower_unit(__global const float *p, invconv_layout f, uint r, uint c)
{
    return r == c ? 1.0f : (c < r ? p[f.lower + r * f.dim + c] : 0.0f);
}

static float upper_diag(__global const float *p, invconv_layout f, uint r, uint c)
{
    if (r == c) return p[f.sign + r] * exp(p[f.log_s + r]);
    return r < c ? p[f.upper + r * f.dim + c] : 0.0f;
}

/* W[i][j] = Σ_k P[i][k] Σ_m L̃[k][m] Ũ[m][j], stored transposed (at [j][i]) as cl/dense.cl
 * wants its weights; global (D, D). */
__kernel void invconv_weight(__global float *w, __global const float *p, uint lower, uint upper,
                             uint log_s, uint perm, uint sign, uint dim)
{
    invconv_layout f = {lower, upper, log_s, perm, sign, dim};
    uint i = get_global_id(0), j = get_global_id(1);
    if (i >= dim || j >= dim) return;
    float sum = 0.0f;
    for (uint k = 0; k < dim; k++) {
        float pk = p[perm + i * dim + k];
        if (pk == 0.0f) continue;
        float lu = 0.0f;
        for (uint m = 0; m <= min(k, j); m++) lu += lower_unit(p, f, k, m) * upper_diag(p, f, m, j);
        sum += pk * lu;
    }
    w[j * dim + i] = sum;
}

/* Column j of W⁻¹ = Ũ⁻¹ L̃⁻¹ Pᵀ e_j by forward then back substitution, in place; stored
 * transposed (column j of W⁻¹ is row j of winv) for cl/dense.cl. global (D). */
__kernel void invconv_inverse(__global float *winv, __global const float *p, uint lower,
                              uint upper, uint log_s, uint perm, uint sign, uint dim)
{
    invconv_layout f = {lower, upper, log_s, perm, sign, dim};
    uint j = get_global_id(0);
    if (j >= dim) return;
    for (uint k = 0; k < dim; k++) {
        float y = p[perm + j * dim + k]; /* (Pᵀ e_j)[k] = P[j][k] */
        for (uint m = 0; m < k; m++) y -= lower_unit(p, f, k, m) * winv[j * dim + m];
        winv[j * dim + k] = y;
    }
    for (uint kk = dim; kk > 0; kk--) {
        uint k = kk - 1;
        float x = winv[j * dim + k];
        for (uint m = k + 1; m < dim; m++) x -= upper_diag(p, f, k, m) * winv[j * dim + m];
        winv[j * dim + k] = x / upper_diag(p, f, k, k);
    }
}

/* From dW = ∂L/∂W (stored transposed, as cl/dense.cl leaves it): with G = Pᵀ·dW, ∂L/∂L' = G·Ũᵀ (strictly lower part), ∂L/∂U' = L̃ᵀ·G (strictly
 * upper part), ∂L/∂log_s_i = (L̃ᵀ·G)_ii · Ũ_ii + logdet_grad. global (D, D). */
__kernel void invconv_param_grads(__global float *grads, __global const float *p,
                                  __global const float *dw, uint lower, uint upper, uint log_s,
                                  uint perm, uint sign, uint dim, float logdet_grad)
{
    invconv_layout f = {lower, upper, log_s, perm, sign, dim};
    uint i = get_global_id(0), j = get_global_id(1);
    if (i >= dim || j >= dim) return;
    float sum = 0.0f;
    for (uint m = 0; m < dim; m++) {
        /* G[r][c] = Σ_q P[q][r] dW[q][c] */
        uint r = i > j ? i : m, c = i > j ? m : j;
        float g = 0.0f;
        for (uint q = 0; q < dim; q++) g += p[perm + q * dim + r] * dw[c * dim + q];
        sum += i > j ? g * upper_diag(p, f, j, m) : lower_unit(p, f, m, i) * g;
    }
    if (i > j)
        grads[lower + i * dim + j] += sum;
    else if (i < j)
        grads[upper + i * dim + j] += sum;
    else
        grads[log_s + i] += sum * upper_diag(p, f, i, i) + logdet_grad;
}
