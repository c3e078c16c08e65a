#include "models/training_recipe.h"

#include "models/gradient_sync.h"

#include <algorithm>
#include <cmath>

namespace le {

namespace {

constexpr double kPi = 3.14159265358979323846;

thread_local GradientSync* t_gradientSync = nullptr;

// The tensors' values end to end in one 1-D tensor of `dtype` on the first one's device.
torch::Tensor flatten(const std::vector<torch::Tensor>& tensors, torch::ScalarType dtype) {
    const auto options = tensors.front().options().dtype(dtype);
    std::vector<torch::Tensor> pieces;
    pieces.reserve(tensors.size());
    for (const auto& t : tensors) pieces.push_back(t.detach().reshape(-1).to(options));
    return torch::cat(pieces);
}

// The inverse of flatten: each tensor takes its stretch of `flat` (converted to its dtype).
void unflatten(const torch::Tensor& flat, const std::vector<torch::Tensor>& tensors) {
    int64_t offset = 0;
    for (const auto& t : tensors) {
        const int64_t n = t.numel();
        t.detach().copy_(flat.slice(0, offset, offset + n).view(t.sizes()));
        offset += n;
    }
}

[[noreturn]] void recipeError(const std::string& family, const std::string& key,
                              const std::string& what, const ModelConfig& config) {
    throw ModelError(family + ": " + key + " must be " + what + ", got '" +
                     config.getString(key, "") + "'");
}

}  // namespace

OptimiserRecipe OptimiserRecipe::read(const ModelConfig& config, const std::string& family,
                                      const std::string& prefix) const {
    OptimiserRecipe r = *this;
    const auto key = [&](const char* name) { return prefix + name; };
    try {
        r.lr = config.getLearningRate(key("lr"), lr);
        r.warmup = config.getIntIn(key("warmup"), warmup, 0, 100000000);
        r.cosine = config.getIntIn(key("cosine"), cosine, 0, 1000000000);
    } catch (const ModelError& e) {
        throw ModelError(family + ": " + e.what());
    }
    r.lrFloor = config.getDouble(key("lr_floor"), lrFloor);
    if (!(r.lrFloor >= 0.0 && r.lrFloor <= 1.0))
        recipeError(family, key("lr_floor"), "in [0, 1]", config);
    r.clip = config.getDouble(key("clip"), clip);
    if (!(r.clip >= 0.0 && std::isfinite(r.clip)))
        recipeError(family, key("clip"), "a finite number >= 0", config);
    r.ema = config.getDouble(key("ema"), ema);
    if (!(r.ema >= 0.0 && r.ema < 1.0)) recipeError(family, key("ema"), "in [0, 1)", config);
    return r;
}

void OptimiserRecipe::write(ModelConfig& config, const std::string& prefix) const {
    config.set(prefix + "lr", lr);
    config.set(prefix + "warmup", warmup);
    config.set(prefix + "cosine", cosine);
    config.set(prefix + "lr_floor", lrFloor);
    config.set(prefix + "clip", clip);
    config.set(prefix + "ema", ema);
}

double OptimiserRecipe::learningRate(int64_t stepsTaken) const {
    const int64_t step = std::max<int64_t>(0, stepsTaken);
    if (warmup > 0 && step < warmup) return lr * double(step + 1) / double(warmup);
    if (cosine <= 0) return lr;
    const double progress = std::min(1.0, double(step - warmup) / double(cosine));
    return lr * (lrFloor + (1.0 - lrFloor) * 0.5 * (1.0 + std::cos(kPi * progress)));
}

void setAdamLearningRate(torch::optim::Optimizer& optimizer, double lr) {
    for (auto& group : optimizer.param_groups())
        static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
}

double clippedStep(torch::optim::Optimizer& optimizer, const std::vector<torch::Tensor>& parameters,
                   double clip) {
    // Data-parallel workers clip and step on the gradient of the whole global batch, alike.
    if (GradientSync* sync = currentGradientSync()) sync->averageGradients(parameters);
    // clip_grad_norm_ with an infinite bound measures without scaling.
    const double norm = torch::nn::utils::clip_grad_norm_(
        parameters, clip > 0.0 ? clip : std::numeric_limits<double>::infinity());
    if (std::isfinite(norm)) optimizer.step();
    return norm;
}

torch::Tensor r1Penalty(const torch::Tensor& realScores, const torch::Tensor& realIn) {
    const torch::Tensor grad = torch::autograd::grad({realScores.sum()}, {realIn}, {},
                                                     /*retain_graph=*/true,
                                                     /*create_graph=*/true)[0];
    return grad.pow(2).flatten(1).sum(1).mean();
}

// ---- data-parallel workers ------------------------------------------------------------------

GradientSync* currentGradientSync() {
    return t_gradientSync;
}

ScopedGradientSync::ScopedGradientSync(GradientSync* sync) : m_previous(t_gradientSync) {
    t_gradientSync = sync;
}

ScopedGradientSync::~ScopedGradientSync() {
    t_gradientSync = m_previous;
}

void GradientSync::averageGradients(const std::vector<torch::Tensor>& parameters) {
    if (parameters.empty()) return;
    torch::NoGradGuard noGrad;
    const auto options = parameters.front().options();
    // The bucket: every gradient (zeros where undefined), then one "defined" flag per parameter.
    std::vector<torch::Tensor> pieces;
    pieces.reserve(parameters.size() + 1);
    std::vector<float> defined;
    defined.reserve(parameters.size());
    for (const auto& p : parameters) {
        const torch::Tensor& g = p.grad();
        pieces.push_back(g.defined() ? g.reshape(-1).to(options)
                                     : torch::zeros({p.numel()}, options));
        defined.push_back(g.defined() ? 1.0f : 0.0f);
    }
    pieces.push_back(torch::tensor(defined).to(options.device()));
    torch::Tensor bucket = torch::cat(pieces);
    allReduceSum(bucket);
    bucket.div_(double(worldSize()));

    const torch::Tensor anyDefined =
        bucket.slice(0, bucket.size(0) - int64_t(parameters.size())).gt(0).to(torch::kCPU);
    const auto anyDefinedAt = anyDefined.accessor<bool, 1>();
    int64_t offset = 0;
    for (size_t i = 0; i < parameters.size(); ++i) {
        const torch::Tensor& p = parameters[i];
        const int64_t n = p.numel();
        const torch::Tensor mean = bucket.slice(0, offset, offset + n).view(p.sizes());
        offset += n;
        if (p.grad().defined())
            p.mutable_grad().copy_(mean);
        else if (anyDefinedAt[int64_t(i)])
            p.mutable_grad() = mean.to(p.dtype()).clone();
    }
}

void GradientSync::broadcast(const std::vector<torch::Tensor>& tensors) {
    if (tensors.empty()) return;
    torch::NoGradGuard noGrad;
    // In double: exact for every float, integer (below 2^53) and bool tensor a model holds.
    torch::Tensor flat = flatten(tensors, torch::kDouble);
    broadcastFromRankZero(flat);
    unflatten(flat, tensors);
}

void GradientSync::average(const std::vector<torch::Tensor>& tensors) {
    if (tensors.empty()) return;
    torch::NoGradGuard noGrad;
    torch::Tensor flat = flatten(tensors, torch::kDouble);
    allReduceSum(flat);
    flat.div_(double(worldSize()));
    unflatten(flat, tensors);
}

// ---- weight average --------------------------------------------------------------------------

void WeightAverage::reset(std::vector<torch::Tensor> parameters, double decay) {
    if (m_swapped) swap();
    m_parameters = std::move(parameters);
    m_shadow.clear();
    m_decay = decay;
    m_updates = 0;
}

void WeightAverage::update() {
    if (!enabled()) return;
    TORCH_CHECK(!m_swapped, "weight average: update while the averaged weights are swapped in");
    torch::NoGradGuard noGrad;
    // Data-parallel: the buffers averaged here (DCGAN's BatchNorm statistics) come from each
    // worker's own batch, so they are averaged over the workers first, or the shadows would
    // drift apart; the parameters are alike already (their gradients were averaged).
    if (GradientSync* sync = currentGradientSync()) {
        std::vector<torch::Tensor> buffers;
        for (const auto& p : m_parameters)
            if (!p.requires_grad()) buffers.push_back(p);
        sync->average(buffers);
    }
    if (m_shadow.empty()) {
        for (const auto& p : m_parameters) m_shadow.push_back(p.detach().clone());
        m_updates = 1;
        return;
    }
    const double d = std::min(m_decay, double(1 + m_updates) / double(10 + m_updates));
    std::vector<torch::Tensor> live;
    live.reserve(m_parameters.size());
    for (const auto& p : m_parameters) live.push_back(p.detach());
    // One kernel launch per list instead of two per tensor.
    at::_foreach_mul_(m_shadow, d);
    at::_foreach_add_(m_shadow, live, 1.0 - d);
    ++m_updates;
}

void WeightAverage::swap() {
    if (m_shadow.empty()) return;
    torch::NoGradGuard noGrad;
    for (size_t i = 0; i < m_parameters.size(); ++i) {
        const torch::Tensor live = m_parameters[i].detach().clone();
        // copy_ bumps the parameter's version, so caches keyed on it (Glow's W⁻¹) refresh.
        m_parameters[i].detach().copy_(m_shadow[i]);
        m_shadow[i].copy_(live);
    }
    m_swapped = !m_swapped;
}

bool WeightAverage::adopt() {
    if (m_shadow.empty()) return false;
    if (m_swapped) swap();
    torch::NoGradGuard noGrad;
    bool finite = true;
    for (const auto& s : m_shadow) finite = finite && torch::isfinite(s).all().item<bool>();
    if (finite)
        for (size_t i = 0; i < m_parameters.size(); ++i)
            m_parameters[i].detach().copy_(m_shadow[i]);
    m_shadow.clear();
    m_updates = 0;
    return finite;
}

void WeightAverage::to(torch::Device device) {
    for (auto& s : m_shadow) s = s.to(device);
}

AveragedWeightsScope::AveragedWeightsScope(GenerativeModel& model) {
    WeightAverage* average = model.weightAverage();
    if (average && average->started() && !average->swapped()) {
        average->swap();
        m_average = average;
    }
}

AveragedWeightsScope::~AveragedWeightsScope() {
    if (m_average) m_average->swap();
}

}  // namespace le
