#include "core/training/distributed.h"

#include "core/errors.h"

#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#if defined(USE_C10D_GLOO)
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#if defined(USE_C10D_NCCL)
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <QByteArray>

namespace le {
namespace {

[[noreturn]] void placeError(const QString& what) {
    throw DataError(QStringLiteral("data-parallel worker: %1").arg(what).toStdString());
}

// The variable as an integer in [min, max]; `fallback` when it is unset or empty.
int environmentInteger(const char* name, int fallback, int min, int max) {
    const QByteArray text = qgetenv(name);
    if (text.isEmpty()) return fallback;
    bool ok = false;
    const int value = text.toInt(&ok);
    if (!ok || value < min || value > max)
        placeError(QStringLiteral("%1 must be an integer in %2..%3, got '%4'")
                       .arg(QString::fromLatin1(name))
                       .arg(min)
                       .arg(max)
                       .arg(QString::fromLocal8Bit(text)));
    return value;
}

QString errorText(const std::exception& e) {
    if (const auto* c10 = dynamic_cast<const c10::Error*>(&e))
        return QString::fromStdString(c10->what_without_backtrace());
    return QString::fromLocal8Bit(e.what());
}

bool isLoopback(const QString& address) {
    return address == QLatin1String("localhost") || address.startsWith(QLatin1String("127.")) ||
           address == QLatin1String("::1");
}

class ProcessGroupSync final : public GradientSync {
public:
    ProcessGroupSync(c10::intrusive_ptr<c10d::Store> store,
                     c10::intrusive_ptr<c10d::ProcessGroup> group, bool cudaCapable)
        : m_store(std::move(store)), m_group(std::move(group)), m_cudaCapable(cudaCapable) {}

    int rank() const override { return m_group->getRank(); }
    int worldSize() const override { return m_group->getSize(); }

    void allReduceSum(torch::Tensor& values) override {
        collective("allreduce", values, [this](std::vector<at::Tensor>& tensors) {
            return m_group->allreduce(tensors);
        });
    }

    void broadcastFromRankZero(torch::Tensor& values) override {
        collective("broadcast", values, [this](std::vector<at::Tensor>& tensors) {
            c10d::BroadcastOptions options;
            options.rootRank = 0;
            return m_group->broadcast(tensors, options);
        });
    }

private:
    template <typename Start>
    void collective(const char* name, torch::Tensor& values, Start start) {
        TORCH_CHECK(values.is_contiguous(), "data-parallel ", name,
                    ": the tensor must be contiguous");
        // Gloo without CUDA support carries CUDA tensors through the CPU.
        const bool viaCpu = !values.is_cpu() && !m_cudaCapable;
        std::vector<at::Tensor> tensors{viaCpu ? values.to(torch::kCPU) : values};
        try {
            start(tensors)->wait();
        } catch (const std::exception& e) {
            throw DataError(QStringLiteral("data-parallel %1 failed on rank %2 of %3 (a worker "
                                           "stopped or hung?): %4")
                                .arg(QString::fromLatin1(name))
                                .arg(rank())
                                .arg(worldSize())
                                .arg(errorText(e))
                                .toStdString());
        }
        if (viaCpu) values.copy_(tensors.front());
    }

    c10::intrusive_ptr<c10d::Store> m_store;  // the group keeps using it; it must outlive it
    c10::intrusive_ptr<c10d::ProcessGroup> m_group;
    bool m_cudaCapable;
};

#if defined(USE_C10D_GLOO)
std::shared_ptr<::gloo::transport::Device> glooDevice(const QString& masterAddress) {
    const QByteArray interfaces = qgetenv("GLOO_SOCKET_IFNAME");
    if (!interfaces.isEmpty())
        return c10d::ProcessGroupGloo::createDeviceForInterface(
            interfaces.split(',').first().toStdString());
    // Loopback for a run on one machine: the host name may resolve to an address that is not.
    if (isLoopback(masterAddress))
        return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
    return c10d::ProcessGroupGloo::createDefaultDevice();
}
#endif

}  // namespace

std::optional<WorkerPlace> workerPlaceFromEnvironment() {
    const int worldSize = environmentInteger("WORLD_SIZE", 1, 1, 4096);
    if (worldSize == 1) return std::nullopt;
    WorkerPlace place;
    place.worldSize = worldSize;
    if (qEnvironmentVariableIsEmpty("RANK"))
        placeError(QStringLiteral("WORLD_SIZE is set, RANK is not"));
    place.rank = environmentInteger("RANK", 0, 0, worldSize - 1);
    place.localRank = environmentInteger("LOCAL_RANK", 0, 0, 4095);
    if (qEnvironmentVariableIsEmpty("MASTER_ADDR"))
        placeError(QStringLiteral("MASTER_ADDR is not set (rank 0's address)"));
    place.masterAddress = qEnvironmentVariable("MASTER_ADDR");
    if (qEnvironmentVariableIsEmpty("MASTER_PORT"))
        placeError(QStringLiteral("MASTER_PORT is not set (the port rank 0 serves the store on)"));
    place.masterPort = environmentInteger("MASTER_PORT", 0, 1, 65535);
    return place;
}

torch::Device workerDevice(torch::Device requested, const WorkerPlace& place) {
    if (!requested.is_cuda()) return requested;
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(place.localRank));
}

std::unique_ptr<GradientSync> joinWorkerGroup(const WorkerPlace& place, torch::Device device,
                                              std::chrono::milliseconds timeout) {
    const QString where = QStringLiteral("%1:%2").arg(place.masterAddress).arg(place.masterPort);
    c10::intrusive_ptr<c10d::Store> store;
    try {
        c10d::TCPStoreOptions options;
        options.port = static_cast<std::uint16_t>(place.masterPort);
        options.isServer = place.rank == 0;
        options.numWorkers = static_cast<std::size_t>(place.worldSize);
        options.waitWorkers = true;
        options.timeout = timeout;
        store = c10::make_intrusive<c10d::TCPStore>(place.masterAddress.toStdString(), options);
    } catch (const std::exception& e) {
        placeError(QStringLiteral("rank %1 of %2 cannot meet the others at %3: %4")
                       .arg(place.rank)
                       .arg(place.worldSize)
                       .arg(where, errorText(e)));
    }

    try {
#if defined(USE_C10D_NCCL)
        if (device.is_cuda()) {
            auto options = c10d::ProcessGroupNCCL::Options::create();
            options->timeout = timeout;
            auto group = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, place.rank,
                                                                     place.worldSize, options);
            return std::make_unique<ProcessGroupSync>(store, group, /*cudaCapable=*/true);
        }
#endif
#if defined(USE_C10D_GLOO)
        auto options = c10d::ProcessGroupGloo::Options::create(timeout);
        options->devices.push_back(glooDevice(place.masterAddress));
        auto group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, place.rank, place.worldSize,
                                                                 options);
        return std::make_unique<ProcessGroupSync>(store, group, /*cudaCapable=*/false);
#else
        (void)device;
        placeError(QStringLiteral("this LibTorch was built without Gloo (USE_C10D_GLOO)"));
#endif
    } catch (const DataError&) {
        throw;
    } catch (const std::exception& e) {
        placeError(QStringLiteral("rank %1 of %2 cannot join the process group at %3: %4")
                       .arg(place.rank)
                       .arg(place.worldSize)
                       .arg(where, errorText(e)));
    }
}

}  // namespace le
