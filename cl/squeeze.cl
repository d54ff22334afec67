/* Squeeze: each 2×2 block of pixels of a channel becomes 4 channels, C×H×W → 4C×H/2×W/2, as
 * openai/glow's squeeze2d: out[4c + 2·dy + dx][y][x] = in[c][2y + dy][2x + dx]. A permutation,
 * so its log-determinant is 0 and its inverse and its backward pass are the same gather run
 * the other way. One work-item per element of the squeezed side. */
__kernel void squeeze_apply(__global float *out, __global const float *in, uint n, uint channels,
                            uint height, uint width, int direction)
{
    uint j = get_global_id(0);
    uint per_sample = channels * height * width;
    if (j >= n * per_sample) return;
    uint i = j / per_sample, r = j - i * per_sample; /* r indexes the squeezed sample */
    uint hw = (height / 2) * (width / 2), w2 = width / 2;
    uint oc = r / hw, p = r - oc * hw;
    uint y = p / w2, x = p - y * w2;
    uint c = oc / 4, sub = oc - c * 4, dy = sub / 2, dx = sub - dy * 2;
    uint wide = i * per_sample + (c * height + 2 * y + dy) * width + 2 * x + dx;
    if (direction > 0)
        out[j] = in[wide];
    else
        out[wide] = in[j];
}
