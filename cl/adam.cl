/* Adam over every parameter of a model at once (they live in one buffer). The bias corrections
 * come from the host as step_size = lr / (1 − β1^t) and v_scale = 1 / √(1 − β2^t), so that
 * θ −= step_size · m / (√v · v_scale + ε), as PyTorch's Adam. */
__kernel void adam_step(__global float *params, __global const float *grads, __global float *m,
                        __global float *v, uint count, float beta1, float beta2, float step_size,
                        float v_scale, float eps)
{
    uint j = get_global_id(0);
    if (j >= count) return;
    float g = grads[j];
    float mj = beta1 * m[j] + (1.0f - beta1) * g;
    float vj = beta2 * v[j] + (1.0f - beta2) * g * g;
    m[j] = mj;
    v[j] = vj;
    params[j] -= step_size * mj / (sqrt(vj) * v_scale + eps);
}

/* Adamax (Kingma & Ba's infinity-norm variant, openai/glow's default): u = max(β2·u, |g|),
 * θ −= step_size · m / (u + ε), u kept where Adam keeps v. */
__kernel void adamax_step(__global float *params, __global const float *grads, __global float *m,
                          __global float *u, uint count, float beta1, float beta2, float step_size,
                          float eps)
{
    uint j = get_global_id(0);
    if (j >= count) return;
    float g = grads[j];
    float mj = beta1 * m[j] + (1.0f - beta1) * g;
    float uj = fmax(beta2 * u[j], fabs(g));
    m[j] = mj;
    u[j] = uj;
    params[j] -= step_size * mj / (uj + eps);
}
