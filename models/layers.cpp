#include "models/layers.h"

#include <torch/version.h>

#include <string>
#include <vector>

namespace le {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Below this many output channels oneDNN's gradients lose to LibTorch's own kernels
// (64->1 channels: 4x slower; 64->8: 1.5x faster; 64->64: 2x faster).
constexpr int64_t kMinOneDnnOutputChannels = 8;

const std::vector<int64_t> kNoDilation{1, 1};
const std::vector<int64_t> kNoOutputPadding{0, 0};

std::vector<int64_t> outputSizes(const torch::Tensor& input, const torch::Tensor& weight,
                                 const std::vector<int64_t>& stride,
                                 const std::vector<int64_t>& padding,
                                 const std::vector<int64_t>& outputPadding) {
    std::vector<int64_t> sizes{input.size(0), weight.size(1)};
    for (int d = 0; d < 2; ++d)
        sizes.push_back((input.size(d + 2) - 1) * stride[d] - 2 * padding[d] + weight.size(d + 2) +
                        outputPadding[d]);
    return sizes;
}

// A transposed conv is the adjoint of the ordinary conv mapping its output's shape to its
// input's: forward is that conv's input-gradient, backward its forward and weight-gradient.
struct ConvTransposeOneDnn : torch::autograd::Function<ConvTransposeOneDnn> {
    static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& input,
                                 const torch::Tensor& weight, std::vector<int64_t> stride,
                                 std::vector<int64_t> padding, std::vector<int64_t> outputPadding) {
        const torch::Tensor x = input.contiguous();
        // Only the shape of the ordinary conv's input is read.
        const torch::Tensor shape =
            torch::empty(outputSizes(x, weight, stride, padding, outputPadding), x.options());
        const torch::Tensor out = std::get<0>(
            at::convolution_backward(x, shape, weight, c10::nullopt, stride, padding, kNoDilation,
                                     false, kNoOutputPadding, 1, {true, false, false}));
        ctx->save_for_backward({x, weight});
        ctx->saved_data["stride"] = stride;
        ctx->saved_data["padding"] = padding;
        return out;
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        const variable_list saved = ctx->get_saved_variables();
        const torch::Tensor &x = saved[0], &weight = saved[1];
        const torch::Tensor gradOut = grads[0].contiguous();
        const std::vector<int64_t> stride = ctx->saved_data["stride"].toIntVector();
        const std::vector<int64_t> padding = ctx->saved_data["padding"].toIntVector();
        torch::Tensor gradInput, gradWeight;
        if (ctx->needs_input_grad(0))
            gradInput = at::convolution(gradOut, weight, {}, stride, padding, kNoDilation, false,
                                        kNoOutputPadding, 1);
        if (ctx->needs_input_grad(1))
            gradWeight = std::get<1>(at::convolution_backward(
                x, gradOut, weight, c10::nullopt, stride, padding, kNoDilation, false,
                kNoOutputPadding, 1, {false, true, false}));
        return {gradInput, gradWeight, {}, {}, {}};
    }
};

struct GatedTanhSigmoid : torch::autograd::Function<GatedTanhSigmoid> {
    static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& pre) {
        const auto halves = pre.chunk(2, 1);
        const torch::Tensor t = torch::sigmoid(halves[0] * 2.0).mul_(2.0).sub_(1.0);
        const torch::Tensor s = torch::sigmoid(halves[1]);
        ctx->save_for_backward({t, s});
        ctx->saved_data["sizes"] = pre.sizes().vec();
        return t * s;
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        const variable_list saved = ctx->get_saved_variables();
        const torch::Tensor &t = saved[0], &s = saved[1];
        const torch::Tensor& g = grads[0];
        const torch::Tensor gradPre =
            torch::empty(ctx->saved_data["sizes"].toIntVector(), g.options());
        auto halves = gradPre.chunk(2, 1);
        at::tanh_backward_out(halves[0], g * s, t);     // g·s·(1 − t²)
        at::sigmoid_backward_out(halves[1], g * t, s);  // g·t·s·(1 − s)
        return {gradPre};
    }
};

}  // namespace

torch::Tensor gatedTanhSigmoid(const torch::Tensor& pre) {
    return GatedTanhSigmoid::apply(pre);
}

torch::Tensor convTranspose2dOneDnn(const torch::Tensor& input, const torch::Tensor& weight,
                                    const torch::Tensor& bias, torch::IntArrayRef stride,
                                    torch::IntArrayRef padding, torch::IntArrayRef outputPadding) {
    // The bias is added outside: LibTorch 1.13's custom functions refuse an undefined input.
    const torch::Tensor out =
        ConvTransposeOneDnn::apply(input, weight, stride.vec(), padding.vec(), outputPadding.vec());
    return bias.defined() ? out + bias.view({1, -1, 1, 1}) : out;
}

bool TransposedConv2dImpl::usesOneDnn(const torch::Tensor& input) const {
#if TORCH_VERSION_MAJOR >= 2
    (void)input;
    return false;
#else
    const auto& o = options;
    return at::globalContext().userEnabledMkldnn() && at::hasMKLDNN() && input.is_cpu() &&
           !input.is_mkldnn() && input.scalar_type() == torch::kFloat &&
           weight.scalar_type() == torch::kFloat && input.dim() == 4 && o.groups() == 1 &&
           o.dilation()->at(0) == 1 && o.dilation()->at(1) == 1 &&
           torch::enumtype::get_enum_name(o.padding_mode()) == std::string("kZeros") &&
           o.out_channels() >= kMinOneDnnOutputChannels;
#endif
}

torch::Tensor TransposedConv2dImpl::forward(const torch::Tensor& input) {
    if (!usesOneDnn(input)) return torch::nn::ConvTranspose2dImpl::forward(input);
    const auto& o = options;
    return convTranspose2dOneDnn(input, weight, bias, *o.stride(), *padding(), *o.output_padding());
}

}  // namespace le
