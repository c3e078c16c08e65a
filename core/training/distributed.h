#pragma once

// Data-parallel training over PyTorch's c10d: where a worker stands (torchrun's environment
// variables) and the GradientSync that joins it to its peers through a TCPStore and a process
// group (Gloo; NCCL for CUDA tensors where LibTorch has it).

#include "models/gradient_sync.h"

#include <QString>

#include <chrono>
#include <memory>
#include <optional>

namespace le {

// A worker's place in a run, as torchrun names it: RANK, WORLD_SIZE, LOCAL_RANK (the worker's
// index on its machine: its CUDA device), MASTER_ADDR and MASTER_PORT (where rank 0 serves the
// store every worker meets at).
struct WorkerPlace {
    int rank = 0;
    int worldSize = 1;
    int localRank = 0;
    QString masterAddress = QStringLiteral("127.0.0.1");
    int masterPort = 29500;
};

// The calling process's place; nullopt when WORLD_SIZE is not set (it trains alone). DataError
// naming the variable when one is malformed or out of range, or RANK is missing.
std::optional<WorkerPlace> workerPlaceFromEnvironment();

// How long a worker waits for its peers at the rendezvous and in any one collective before it
// fails, naming the operation: long enough for rank 0's evaluations, snapshots and checkpoints
// between two steps (the others wait in the next step's allreduce), short enough that a hung
// peer does not hold the rest for c10d's default of 30 minutes. A peer that dies breaks the
// connection and fails its partners at once.
constexpr std::chrono::seconds kDefaultPeerTimeout{60};

// The device this worker trains on: CUDA device LOCAL_RANK when `requested` is CUDA.
torch::Device workerDevice(torch::Device requested, const WorkerPlace& place);

// Joins the group (blocks until every worker has): rank 0 serves the TCPStore, every rank
// connects to it and to each other. Gloo carries CPU tensors (and CUDA tensors through the CPU
// when LibTorch has no NCCL); NCCL carries them where LibTorch was built with it and `device` is
// CUDA. Gloo binds the interface GLOO_SOCKET_IFNAME names, else loopback when the master is on
// loopback, else the address this host's name resolves to. DataError naming the address when
// the rendezvous fails.
std::unique_ptr<GradientSync> joinWorkerGroup(const WorkerPlace& place, torch::Device device,
                                              std::chrono::milliseconds timeout);

}  // namespace le
