/* Dense layer: out = in W^T + b with the PyTorch weight layout [n_out, n_in]. */
#include "doodle/layers.h"
#include "nn/gemm.h"

void dd_dense_forward(float *out, const float *in, const float *weight, const float *bias, int batch, int n_in,
                      int n_out) {
    nn_gemm(false, true, batch, n_out, n_in, 1.0f, in, weight, 0.0f, out);
    if (!bias) return;
    for (int b = 0; b < batch; b++)
        for (int o = 0; o < n_out; o++) out[(size_t)b * n_out + o] += bias[o];
}

void dd_dense_backward(float *din, float *dweight, float *dbias, const float *dout, const float *in,
                       const float *weight, int batch, int n_in, int n_out) {
    /* dweight [n_out, n_in] += dout^T [n_out, B] x in [B, n_in] */
    if (dweight) nn_gemm(true, false, n_out, n_in, batch, 1.0f, dout, in, 1.0f, dweight);
    if (dbias) {
        for (int o = 0; o < n_out; o++) {
            double s = 0.0;
            for (int b = 0; b < batch; b++) s += dout[(size_t)b * n_out + o];
            dbias[o] += (float)s;
        }
    }
    /* din [B, n_in] = dout [B, n_out] x W [n_out, n_in] */
    if (din) nn_gemm(false, false, batch, n_in, n_out, 1.0f, dout, weight, 0.0f, din);
}
