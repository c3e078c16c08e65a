#pragma once

// Starts the workers of a data-parallel run on this machine, as torchrun does: N copies of a
// program, each told its place through RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and
// MASTER_PORT; then watches them until all have exited or one has failed.

#include <QString>
#include <QStringList>

namespace le {

struct WorkerLaunch {
    QString program;
    QStringList arguments;
    int workers = 2;
    int masterPort = 0;        // on loopback; 0: a port free at launch (freeLoopbackPort)
    int threadsPerWorker = 0;  // LE_TORCH_THREADS for each, unless set already; 0: leave
};

struct LaunchOutcome {
    int exitCode = 0;  // 0 when every worker exited with 0; else the failing worker's code, 1
                       // for a signal
    QString failure;   // names the worker that failed first and how; empty on success
};

// Runs the workers. Rank 0 writes to this process's stdout and stderr directly (its progress
// bar included); the others' stdout is dropped and their stderr forwarded line by line, prefixed
// "[rank R] ". When one exits non-zero or is killed, the others are stopped (SIGTERM, SIGKILL
// after 5 s) and the outcome names it. Workers get SIGTERM too if this process dies (Linux).
// Needs a QCoreApplication.
LaunchOutcome runWorkers(const WorkerLaunch& launch);

// A TCP port on 127.0.0.1 that was free a moment ago (the kernel's pick).
int freeLoopbackPort();

}  // namespace le
