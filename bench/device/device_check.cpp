// latent-explorer-device-check: what a GPU machine (or any LibTorch) must do for the explorer,
// with models/ and LibTorch alone (no Qt, no OpenCV), so that it builds against a CUDA LibTorch
// where the GUI cannot. For every family on the chosen device: training steps with finite,
// falling losses; samples of the right shape in [-1, 1]; the encode/decode round trip; the cached
// and naive autoregressive samplers giving one sample for one seed. For every shipped checkpoint:
// the device's decode against the CPU's (TF32 off), and decode latency p50/p99 with the device
// synchronised after every call. Prints JSON; exits 1 when a check fails.
//
//   latent-explorer-device-check [--device auto|cpu|cuda[:N]] [--quick] [--json FILE]
//                                [--pretrained DIR] [--repeats N]

#include "bench/device/lec_file.h"
#include "models/generative_model.h"

#include <torch/cuda.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#ifndef LE_PRETRAINED_DIR
#define LE_PRETRAINED_DIR "models/pretrained"
#endif

namespace le::device {
namespace {

struct Options {
    std::string device = "auto";
    bool quick = false;
    std::string jsonPath;
    std::string pretrained = LE_PRETRAINED_DIR;
    int repeats = 200;
};

// A JSON object written field by field; the check's output is flat enough not to need more.
class JsonObject {
public:
    JsonObject& add(const std::string& key, const std::string& value) {
        return raw(key, quote(value));
    }
    JsonObject& add(const std::string& key, const char* value) {
        return add(key, std::string(value));
    }
    JsonObject& add(const std::string& key, double value) {
        std::ostringstream s;
        s.precision(6);
        if (std::isfinite(value))
            s << value;
        else
            s << "null";
        return raw(key, s.str());
    }
    JsonObject& add(const std::string& key, int64_t value) {
        return raw(key, std::to_string(value));
    }
    JsonObject& add(const std::string& key, bool value) {
        return raw(key, value ? "true" : "false");
    }
    JsonObject& add(const std::string& key, const JsonObject& value) {
        return raw(key, value.text());
    }
    JsonObject& add(const std::string& key, const std::vector<JsonObject>& values) {
        std::string out = "[";
        for (size_t i = 0; i < values.size(); ++i) out += (i ? ",\n" : "\n") + values[i].text();
        return raw(key, out + "]");
    }
    std::string text() const { return "{" + m_body + "}"; }

private:
    static std::string quote(const std::string& s) {
        std::string out = "\"";
        for (char c : s) {
            if (c == '"' || c == '\\') out += '\\';
            out += c == '\n' ? ' ' : c;
        }
        return out + "\"";
    }
    JsonObject& raw(const std::string& key, const std::string& value) {
        m_body += (m_body.empty() ? "" : ", ") + quote(key) + ": " + value;
        return *this;
    }
    std::string m_body;
};

// One check's outcome: passed, and what it measured or why it failed.
struct Check {
    explicit Check(std::string checkName) : name(std::move(checkName)) {}

    std::string name;
    bool passed = true;
    std::string problem;
    JsonObject figures;

    void require(bool ok, const std::string& what) {
        if (!ok && passed) {
            passed = false;
            problem = what;
        }
    }
    JsonObject json() const {
        JsonObject o = figures;
        o.add("check", name).add("passed", passed);
        if (!passed) o.add("problem", problem);
        return o;
    }
};

void synchronize(torch::Device device) {
    if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

// The smallest configuration of each family that still runs its whole forward pass (as the unit
// tests' tinyConfig), a few times wider so that a few dozen steps show learning.
ModelConfig smallConfig(const std::string& family) {
    ModelConfig c;
    writeImageShape(c, ImageShape{1, 28, 28});
    if (family == "vae" || family == "vaegan") {
        c.set("hidden", int64_t{16});
        c.set("latent", int64_t{8});
    } else if (family == "dcgan") {
        c.set("hidden", int64_t{8});
        c.set("latent", int64_t{8});
    } else if (family == "glow") {
        c.set("levels", int64_t{2});
        c.set("steps", int64_t{2});
        c.set("hidden", int64_t{16});
    } else if (family == "pixelcnn") {
        c.set("hidden", int64_t{16});
        c.set("layers", int64_t{2});
    } else if (family == "vqvae" || family == "vqvae2") {
        c.set("hidden", int64_t{16});
        c.set("codes", int64_t{8});
        c.set("code_dim", int64_t{4});
        c.set("prior_hidden", int64_t{8});
        c.set("prior_layers", int64_t{2});
    }
    return c;
}

// A fixed batch of smooth blobs quantised to 8 bits, in [-1, 1]: structure a model learns in a
// few steps, made on the CPU from a seeded generator so that every device trains on the same data.
torch::Tensor blobBatch(int64_t n, const ImageShape& shape, uint64_t seed) {
    torch::manual_seed(seed);
    auto ys = torch::linspace(-1, 1, shape.height).view({1, 1, -1, 1});
    auto xs = torch::linspace(-1, 1, shape.width).view({1, 1, 1, -1});
    auto cy = torch::rand({n, 1, 1, 1}) - 0.5, cx = torch::rand({n, 1, 1, 1}) - 0.5;
    auto r = 0.15 + 0.3 * torch::rand({n, 1, 1, 1});
    auto blob = torch::exp(-((ys - cy).pow(2) + (xs - cx).pow(2)) / (2 * r * r));
    blob = blob.expand({n, shape.channels, shape.height, shape.width});
    return (torch::round(blob * 255) / 255 * 2 - 1).contiguous();
}

double mean(const std::vector<double>& v, size_t from, size_t to) {
    double sum = 0;
    for (size_t i = from; i < to; ++i) sum += v[i];
    return sum / double(to - from);
}

bool finiteIn(const torch::Tensor& t, double low, double high) {
    auto cpu = t.detach().to(torch::kCPU);
    return cpu.isfinite().all().item<bool>() && cpu.min().item<double>() >= low - 1e-5 &&
           cpu.max().item<double>() <= high + 1e-5;
}

std::string shapeText(const torch::Tensor& t) {
    std::string s;
    for (auto d : t.sizes()) s += (s.empty() ? "" : "x") + std::to_string(d);
    return s;
}

// The loss a family's training lowers on a fixed batch: the reconstruction error where the family
// reports one (a hybrid's total loss holds terms measured in its discriminator's features, which
// move as the discriminator learns), a GAN's discriminator loss (its generator loss is half of a
// game), else "loss".
std::string descentMetric(const std::string& family, const Metrics& m) {
    if (m.count("recon_mse")) return "recon_mse";
    if (ModelRegistry::instance().info(family).kind == ModelKind::Adversarial && m.count("d_loss"))
        return "d_loss";
    return "loss";
}

Check trainCheck(const std::string& family, torch::Device device, int steps) {
    Check check{"train"};
    torch::manual_seed(1);
    auto model = ModelRegistry::instance().create(family, smallConfig(family), device);
    model->train(true);
    const auto batch = blobBatch(8, model->imageShape(), 2).to(device);
    std::vector<double> losses;
    std::string metric;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < steps; ++i) {
        const Metrics m = model->trainStep(batch);
        if (metric.empty()) metric = descentMetric(family, m);
        losses.push_back(m.at(metric));
    }
    synchronize(device);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const bool finite =
        std::all_of(losses.begin(), losses.end(), [](double v) { return std::isfinite(v); });
    const size_t k = std::min<size_t>(5, losses.size() / 2);
    const double first = mean(losses, 0, k), last = mean(losses, losses.size() - k, losses.size());
    check.require(finite, "a training loss was not finite");
    check.require(last < first, metric + " did not fall: " + std::to_string(first) + " -> " +
                                    std::to_string(last));
    check.figures.add("metric", metric)
        .add("steps", int64_t(steps))
        .add("first", first)
        .add("last", last)
        .add("ms_per_step", 1000 * seconds / steps);
    return check;
}

Check sampleCheck(GenerativeModel& model) {
    Check check{"sample"};
    const ImageShape s = model.imageShape();
    torch::NoGradGuard noGrad;
    const auto images = model.sample(4, model.defaultTemperature(), 1);
    check.require(images.device() == model.device(),
                  "samples came back on " + images.device().str());
    check.require(images.sizes() == torch::IntArrayRef({4, s.channels, s.height, s.width}),
                  "samples have shape " + shapeText(images));
    check.require(finiteIn(images, -1, 1), "samples are not finite values in [-1, 1]");
    const auto none = model.sample(0, model.defaultTemperature(), 1);
    check.require(none.size(0) == 0 && none.device() == model.device(),
                  "a request for no samples is not an empty batch on the model's device");
    check.figures.add("temperature", model.defaultTemperature());
    return check;
}

Check roundTripCheck(GenerativeModel& model) {
    Check check{"round_trip"};
    torch::NoGradGuard noGrad;
    const auto x = blobBatch(4, model.imageShape(), 3).to(model.device());
    const Capabilities caps = model.capabilities();
    if (caps.encode && caps.decode) {
        const auto z = model.encode(x);
        check.require(z.sizes() == torch::IntArrayRef({4, model.latentDim()}),
                      "encode gave shape " + shapeText(z));
        const auto back = model.decode(z);
        check.require(back.sizes() == x.sizes(), "decode gave shape " + shapeText(back));
        check.require(finiteIn(back, -1, 1), "decode is not finite values in [-1, 1]");
        const double error = (back - x).abs().max().item<double>();
        check.figures.add("max_abs_error", error);
        // A flow inverts exactly up to float32 rounding; other encoders only approximate.
        if (caps.exactEncode) check.require(error < 1e-3, "the flow's decode(encode(x)) != x");
    } else if (CodeGridModel* grid = model.codeGrid()) {
        const auto codes = grid->encodeCodes(x);
        check.require(
            codes.sizes() == torch::IntArrayRef({4, grid->gridHeight(), grid->gridWidth()}),
            "encodeCodes gave shape " + shapeText(codes));
        const auto back = grid->decodeCodes(codes);
        check.require(back.sizes() == x.sizes(), "decodeCodes gave shape " + shapeText(back));
        check.require(finiteIn(back, -1, 1), "decodeCodes is not finite values in [-1, 1]");
    } else {
        check.figures.add("skipped", "no encoder");
    }
    return check;
}

Check samplerCheck(GenerativeModel& model) {
    Check check{"cached_equals_naive"};
    torch::NoGradGuard noGrad;
    SamplerOptions options;
    options.seed = 7;
    options.cached = false;
    auto naive = model.sampler(options);
    options.cached = true;
    auto cached = model.sampler(options);
    while (!naive->done()) naive->step();
    while (!cached->done()) cached->step();
    const auto a = naive->values().to(torch::kCPU), b = cached->values().to(torch::kCPU);
    const int64_t differing = a.ne(b).sum().item<int64_t>();
    check.require(differing == 0, std::to_string(differing) + " values differ");
    check.figures.add("positions", naive->totalSteps()).add("differing", differing);
    return check;
}

// A report for the output, and whether every check in it passed.
struct Report {
    JsonObject json;
    bool passed = true;
};

Report familyReport(const std::string& family, torch::Device device, const Options& options) {
    std::vector<Check> checks;
    auto run = [&](const char* name, auto&& body) {
        try {
            checks.push_back(body());
        } catch (const std::exception& e) {
            Check failed{name};
            failed.require(false, e.what());
            checks.push_back(failed);
        }
    };
    run("train", [&] { return trainCheck(family, device, options.quick ? 30 : 100); });
    torch::manual_seed(1);
    auto model = ModelRegistry::instance().create(family, smallConfig(family), device);
    model->train(false);
    run("sample", [&] { return sampleCheck(*model); });
    run("round_trip", [&] { return roundTripCheck(*model); });
    if (model->capabilities().autoregressive)
        run("cached_equals_naive", [&] { return samplerCheck(*model); });
    Report report;
    std::vector<JsonObject> out;
    for (const Check& c : checks) {
        out.push_back(c.json());
        report.passed = report.passed && c.passed;
    }
    report.json.add("family", family).add("checks", out);
    return report;
}

// p50 and p99 of `repeats` timed calls, the device synchronised after each.
template <typename F>
JsonObject latency(torch::Device device, int repeats, F&& call) {
    for (int i = 0; i < std::max(3, repeats / 10); ++i) call();  // warm-up: allocator, autotuning
    synchronize(device);
    std::vector<double> ms;
    for (int i = 0; i < repeats; ++i) {
        const auto start = std::chrono::steady_clock::now();
        call();
        synchronize(device);
        ms.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                .count());
    }
    std::sort(ms.begin(), ms.end());
    auto at = [&](double q) { return ms[std::min(ms.size() - 1, size_t(q * double(ms.size())))]; };
    return JsonObject()
        .add("p50_ms", at(0.5))
        .add("p99_ms", at(0.99))
        .add("repeats", int64_t(repeats));
}

// What a shipped model's device is compared on: the decode of a code grid where its latent is
// one, its decode of prior latents where it decodes, else its held-out loss on a fixed batch.
struct Probe {
    std::string what;
    std::function<torch::Tensor(GenerativeModel&)> run;
};

Probe probeFor(GenerativeModel& cpuModel) {
    torch::NoGradGuard noGrad;
    const Capabilities caps = cpuModel.capabilities();
    if (CodeGridModel* grid = cpuModel.codeGrid()) {
        const auto codes = grid->encodeCodes(blobBatch(8, cpuModel.imageShape(), 4));
        return {"decode_codes", [codes](GenerativeModel& m) {
                    return m.codeGrid()->decodeCodes(codes.to(m.device()));
                }};
    }
    if (caps.decode && cpuModel.latentDim() > 0) {
        const auto z = cpuModel.samplePrior(8, 1.0, 1).to(torch::kCPU);
        return {"decode", [z](GenerativeModel& m) { return m.decode(z.to(m.device())); }};
    }
    const auto x = blobBatch(8, cpuModel.imageShape(), 4);
    return {"evaluate_loss", [x](GenerativeModel& m) {
                return torch::tensor(m.evaluate(x.to(m.device())).at("loss"));
            }};
}

Report shippedReport(const std::string& path, torch::Device device, const Options& options) {
    Check check{"shipped"};
    Report result;
    JsonObject& report = result.json;
    report.add("file", std::filesystem::path(path).filename().string());
    try {
        const LecFile file = readLecFile(path);
        auto cpuModel = loadLecModel(file, torch::kCPU);
        auto deviceModel = loadLecModel(file, device);
        const Probe probe = probeFor(*cpuModel);
        torch::NoGradGuard noGrad;
        const auto onCpu = probe.run(*cpuModel).to(torch::kCPU);
        const auto onDevice = probe.run(*deviceModel).to(torch::kCPU);
        const double diff = (onCpu - onDevice).abs().max().item<double>();
        const double scale = std::max(1.0, onCpu.abs().max().item<double>());
        // A quarter of one 8-bit level (2/255/4) on [-1, 1] images: the displayed pixels agree;
        // float32 convolutions on another device differ by ~1e-6 relative per layer (TF32 off).
        // A loss (a sum over thousands of pixels) is compared relatively, at 1e-4.
        const double tolerance = probe.what == "evaluate_loss" ? 1e-4 * scale : 2.0 / 255 / 4;
        check.require(diff <= tolerance,
                      probe.what + " differs from the CPU's by " + std::to_string(diff));
        report.add("family", file.family)
            .add("dataset", file.dataset)
            .add("probe", probe.what)
            .add("max_abs_diff", diff)
            .add("tolerance", tolerance);
        if (probe.what == "decode") {
            const auto z = deviceModel->samplePrior(1, 1.0, 2);
            report.add("decode_latency",
                       latency(device, options.repeats, [&] { deviceModel->decode(z); }));
        } else if (probe.what == "decode_codes") {
            const auto codes = deviceModel->codeGrid()->encodeCodes(
                blobBatch(1, deviceModel->imageShape(), 5).to(device));
            report.add("decode_latency", latency(device, options.repeats, [&] {
                           deviceModel->codeGrid()->decodeCodes(codes);
                       }));
        }
        if (deviceModel->capabilities().autoregressive) {
            // One generated value per call: what the Autoregressive view waits for per frame.
            SamplerOptions so;
            so.seed = 3;
            auto sampler = deviceModel->sampler(so);
            report.add(
                "sampler_step_latency",
                latency(device, std::min<int>(options.repeats, int(sampler->totalSteps()) / 2),
                        [&] { sampler->step(); }));
        }
    } catch (const std::exception& e) {
        check.require(false, e.what());
    }
    report.add("passed", check.passed);
    if (!check.passed) report.add("problem", check.problem);
    result.passed = check.passed;
    return result;
}

std::vector<std::string> shippedFiles(const std::string& dir) {
    std::vector<std::string> files;
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
        const auto name = entry.path().filename().string();
        if (entry.path().extension() == ".lec" && name.rfind("classifier_", 0) != 0)
            files.push_back(entry.path().string());
    }
    std::sort(files.begin(), files.end());
    return files;
}

Options parseArguments(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw ModelError(arg + " needs a value");
            return argv[++i];
        };
        if (arg == "--device")
            o.device = value();
        else if (arg == "--quick")
            o.quick = true;
        else if (arg == "--json")
            o.jsonPath = value();
        else if (arg == "--pretrained")
            o.pretrained = value();
        else if (arg == "--repeats")
            o.repeats = std::max(1, std::stoi(value()));
        else
            throw ModelError("unknown argument " + arg);
    }
    if (o.quick) o.repeats = std::min(o.repeats, 20);
    return o;
}

int run(int argc, char** argv) {
    Options options;
    try {
        options = parseArguments(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "latent-explorer-device-check: " << e.what() << "\n";
        return 2;
    }
    const torch::Device device = parseDevice(options.device);
    // Device results are compared with the CPU's: TF32 would round matmul inputs to 10 bits.
    at::globalContext().setAllowTF32CuBLAS(false);
    at::globalContext().setAllowTF32CuDNN(false);

    const auto start = std::chrono::steady_clock::now();
    std::vector<JsonObject> families, shipped;
    bool passed = true;
    auto keep = [&passed](std::vector<JsonObject>& into, Report report) {
        passed = passed && report.passed;
        into.push_back(std::move(report.json));
    };
    for (const auto& family : ModelRegistry::instance().families()) {
        std::cerr << "family " << family << "\n";
        keep(families, familyReport(family, device, options));
    }
    for (const auto& path : shippedFiles(options.pretrained)) {
        std::cerr << "shipped " << path << "\n";
        keep(shipped, shippedReport(path, device, options));
    }
    JsonObject report;
    report.add("device", device.str())
        .add("cuda_device_count", int64_t(torch::cuda::device_count()))
        .add("torch_version", std::to_string(TORCH_VERSION_MAJOR) + "." +
                                  std::to_string(TORCH_VERSION_MINOR) + "." +
                                  std::to_string(TORCH_VERSION_PATCH))
        .add("quick", options.quick)
        .add("families", families)
        .add("shipped", shipped)
        .add("seconds",
             std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    const std::string json = report.text();
    std::cout << json << "\n";
    if (!options.jsonPath.empty()) {
        // Written beside and renamed over, so a reader never sees half a report.
        const std::string partial = options.jsonPath + ".partial";
        std::ofstream(partial) << json << "\n";
        std::filesystem::rename(partial, options.jsonPath);
    }
    std::cerr << (passed ? "all checks passed" : "SOME CHECKS FAILED") << " on " << device.str()
              << "\n";
    return passed ? 0 : 1;
}

}  // namespace
}  // namespace le::device

int main(int argc, char** argv) {
    try {
        return le::device::run(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "latent-explorer-device-check: " << e.what() << "\n";
        return 2;
    }
}
