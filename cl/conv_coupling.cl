/* The element-wise part of the image coupling, on (n, channels, pixels) batches: channels
 * [0, a) condition, channels [a, channels) are transformed with the network's output h
 * (n, 2·b, pixels): t = h[0..b), raw = h[b..2b). Affine: z_b = (x_b + t) · s with
 * s = sigmoid(raw + 2), as openai/glow; additive: z_b = x_b + t. */

/* s from the network's raw output, for a float or (cc_apply) a float8 of them. */
#define COUPLING_SCALE(raw) (1.0f / (1.0f + exp(-((raw) + 2.0f))))

/* direction +1: encoder; −1: decoder (x_b = z_b / s − t). global (n). A sample's values go 8 at
 * a time: PoCL's float8 exp and log cost about what one scalar call does, and one work-item per
 * sample left the 16 images of a batch 6144 scalar calls each. */
__kernel void cc_apply(__global float *out, __global const float *in, __global const float *h,
                       __global float *logdet, uint n, uint channels, uint a, uint pixels,
                       uint additive, int direction)
{
    uint i = get_global_id(0);
    if (i >= n) return;
    uint b = channels - a, kept = a * pixels, changed = b * pixels;
    __global const float *x = in + i * channels * pixels;
    __global float *y = out + i * channels * pixels;
    __global const float *hi = h + i * 2 * b * pixels;
    for (uint j = 0; j < kept; j += 8) store8_first(y + j, load8_first(x + j, kept - j), kept - j);
    float8 sum = 0.0f;
    for (uint j = 0; j < changed; j += 8) {
        uint count = min(8u, changed - j);
        float8 t = load8_first(hi + j, count), v = load8_first(x + kept + j, count), z;
        if (additive) {
            z = direction > 0 ? v + t : v - t;
        } else {
            /* Lanes past `count` hold s = sigmoid(2): finite, and not added to the sum. */
            float8 s = COUPLING_SCALE(load8_first(hi + changed + j, count));
            z = direction > 0 ? (v + t) * s : v / s - t;
            sum += select((float8)(0.0f), log(s), (int8)(0, 1, 2, 3, 4, 5, 6, 7) < (int)count);
        }
        store8_first(y + kept + j, z, count);
    }
    logdet[i] += direction > 0 ? sum8(sum) : -sum8(sum);
}

/* dx_a = dz_a (the network adds its part later), dx_b, and dh, the gradient of h. */
__kernel void cc_backward(__global float *dx, __global float *dh, __global const float *dz,
                          __global const float *x, __global const float *h, float dlogdet, uint n,
                          uint channels, uint a, uint pixels, uint additive)
{
    uint i = get_global_id(0);
    if (i >= n) return;
    uint b = channels - a, base = i * channels * pixels, hb = i * 2 * b * pixels;
    for (uint j = 0; j < a * pixels; j++) dx[base + j] = dz[base + j];
    for (uint j = 0; j < b * pixels; j++) {
        float g = dz[base + a * pixels + j];
        if (additive) { /* the network's scale outputs are unused: no gradient */
            dx[base + a * pixels + j] = g;
            dh[hb + j] = g;
            dh[hb + b * pixels + j] = 0.0f;
            continue;
        }
        float s = COUPLING_SCALE(h[hb + b * pixels + j]);
        float shifted = x[base + a * pixels + j] + h[hb + j];
        dx[base + a * pixels + j] = g * s;
        dh[hb + j] = g * s;
        /* ∂s/∂raw = s(1 − s), ∂log s/∂raw = 1 − s */
        dh[hb + b * pixels + j] = (g * shifted * s + dlogdet) * (1.0f - s);
    }
}

/* The last convolution's learned gain (Glow's Conv2dZeros): h = pre · exp(3 · log_gain[c]),
 * in place. global (n · channels · pixels). */
__kernel void cc_gain(__global float *h, __global const float *params, uint gain_offset, uint count,
                      uint channels, uint pixels)
{
    uint j = get_global_id(0);
    if (j >= count) return;
    h[j] *= exp(3.0f * params[gain_offset + channel_of(j, channels, pixels)]);
}

/* Backward of the gain: rows[j] = 3 · dh · h (summed per channel later into ∂L/∂log_gain),
 * and dh becomes the gradient of the pre-gain output, in place. */
__kernel void cc_gain_backward(__global float *dh, __global float *rows, __global const float *h,
                               __global const float *params, uint gain_offset, uint count,
                               uint channels, uint pixels)
{
    uint j = get_global_id(0);
    if (j >= count) return;
    rows[j] = 3.0f * dh[j] * h[j];
    dh[j] *= exp(3.0f * params[gain_offset + channel_of(j, channels, pixels)]);
}

/* xa (n, a, pixels) = the conditioning channels of x (n, channels, pixels), or, with add set,
 * x[conditioning channels] += xa (the networks' gradient flowing back). global (n · a · pixels). */
__kernel void cc_conditioning(__global float *x, __global float *xa, uint n, uint channels, uint a,
                              uint pixels, uint add)
{
    uint j = get_global_id(0), per = a * pixels;
    if (j >= n * per) return;
    uint i = j / per, at = i * channels * pixels + (j - i * per);
    if (add)
        x[at] += xa[j];
    else
        xa[j] = x[at];
}
