#pragma once

// Layers shared by several families where LibTorch's own module is slower than it needs to be.

#include <torch/torch.h>

namespace le {

// torch::nn::ConvTranspose2d with the same options, parameters ("weight", "bias"), initialisation
// and results, whose CPU path runs on oneDNN. LibTorch 1.13 sends transposed convolutions to
// slow_conv_transpose2d (im2col and GEMM) while ordinary ones go to oneDNN, so a transposed conv
// is computed here as what it is, the input-gradient of the ordinary conv with the same weight,
// and its backward as that conv's forward and weight-gradient. Measured on the 2-core CPU at one
// thread, a 64->64 channel 7->14 layer's forward and backward take about half the time; with one
// or a few output channels oneDNN is slower, so such layers (and CUDA, groups, dilation, other
// dtypes, LibTorch 2, which uses oneDNN itself) keep LibTorch's path.
class TransposedConv2dImpl : public torch::nn::ConvTranspose2dImpl {
public:
    using torch::nn::ConvTranspose2dImpl::ConvTranspose2dImpl;
    torch::Tensor forward(const torch::Tensor& input);

    // Whether forward takes the oneDNN path for this input.
    bool usesOneDnn(const torch::Tensor& input) const;
};
TORCH_MODULE(TransposedConv2d);

// The oneDNN computation itself, for any strides, padding and output padding; exposed for tests.
torch::Tensor convTranspose2dOneDnn(const torch::Tensor& input, const torch::Tensor& weight,
                                    const torch::Tensor& bias, torch::IntArrayRef stride,
                                    torch::IntArrayRef padding, torch::IntArrayRef outputPadding);

// tanh(a) · σ(b) for pre = [a, b] split along channels (the PixelCNN's gate), for training: one
// autograd node whose backward writes both halves' gradients in place (autograd's own graph
// concatenates them afterwards), with tanh taken as 2σ(2a) − 1 because LibTorch's vectorised
// tanh runs 4× slower than its sigmoid on these CPUs (6.0 against 1.3 ms for 3.2 M floats).
// Equal to the plain formula to float rounding (tested).
torch::Tensor gatedTanhSigmoid(const torch::Tensor& pre);

// Puts a module in a mode and restores the previous one on scope exit.
class ModeGuard {
public:
    ModeGuard(torch::nn::Module& module, bool training)
        : m_module(module), m_was(module.is_training()) {
        m_module.train(training);
    }
    ~ModeGuard() { m_module.train(m_was); }
    ModeGuard(const ModeGuard&) = delete;
    ModeGuard& operator=(const ModeGuard&) = delete;

private:
    torch::nn::Module& m_module;
    bool m_was;
};

}  // namespace le
