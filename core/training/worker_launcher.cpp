#include "core/training/worker_launcher.h"

#include "core/errors.h"

#include <QEventLoop>
#include <QProcess>
#include <QProcessEnvironment>
#include <QTimer>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

namespace le {
namespace {

constexpr int kStopGraceMs = 5000;

struct Worker {
    int rank = 0;
    std::unique_ptr<QProcess> process;
    qint64 pid = 0;
    bool stoppedByUs = false;
    QByteArray partialLine;  // stderr after the last newline
};

QProcessEnvironment workerEnvironment(const WorkerLaunch& launch, int rank, int port) {
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("RANK"), QString::number(rank));
    env.insert(QStringLiteral("LOCAL_RANK"), QString::number(rank));
    env.insert(QStringLiteral("WORLD_SIZE"), QString::number(launch.workers));
    env.insert(QStringLiteral("MASTER_ADDR"), QStringLiteral("127.0.0.1"));
    env.insert(QStringLiteral("MASTER_PORT"), QString::number(port));
    // N workers of all cores each would oversubscribe them (torchrun sets OMP_NUM_THREADS).
    if (launch.threadsPerWorker > 0 && !env.contains(QStringLiteral("LE_TORCH_THREADS")))
        env.insert(QStringLiteral("LE_TORCH_THREADS"), QString::number(launch.threadsPerWorker));
    return env;
}

// Writes the complete lines of `bytes` (and the rest when `flush`) to stderr, prefixed.
void forwardLines(Worker& worker, const QByteArray& bytes, bool flush) {
    worker.partialLine += bytes;
    const QByteArray prefix = "[rank " + QByteArray::number(worker.rank) + "] ";
    qsizetype newline;
    while ((newline = worker.partialLine.indexOf('\n')) >= 0) {
        const QByteArray line = prefix + worker.partialLine.left(newline + 1);
        std::fwrite(line.constData(), 1, size_t(line.size()), stderr);
        worker.partialLine.remove(0, newline + 1);
    }
    if (flush && !worker.partialLine.isEmpty()) {
        const QByteArray line = prefix + worker.partialLine + '\n';
        std::fwrite(line.constData(), 1, size_t(line.size()), stderr);
        worker.partialLine.clear();
    }
    std::fflush(stderr);
}

QString workerName(const Worker& worker, int workers) {
    return QStringLiteral("worker rank %1 of %2 (pid %3)")
        .arg(worker.rank)
        .arg(workers)
        .arg(worker.pid);
}

// How it ended, or an empty string when it exited with 0. On Unix, Qt reports a killed
// process's signal as its exit code.
QString failureOf(const Worker& worker, int workers) {
    const QProcess& p = *worker.process;
    if (p.exitStatus() == QProcess::CrashExit)
        return workerName(worker, workers) +
               QStringLiteral(" was killed by signal %1 (%2)")
                   .arg(p.exitCode())
                   .arg(QString::fromLocal8Bit(strsignal(p.exitCode())));
    if (p.exitCode() != 0)
        return workerName(worker, workers) +
               QStringLiteral(" exited with code %1").arg(p.exitCode());
    return {};
}

class WorkerSupervisor {
public:
    explicit WorkerSupervisor(const WorkerLaunch& launch) : m_launch(launch) {}

    LaunchOutcome run() {
        const int port = m_launch.masterPort > 0 ? m_launch.masterPort : freeLoopbackPort();
        m_workers.resize(size_t(m_launch.workers));
        for (int rank = 0; rank < m_launch.workers; ++rank) {
            if (!start(m_workers[size_t(rank)], rank, port)) break;
        }
        if (m_running > 0) m_loop.exec();
        return m_outcome;
    }

private:
    bool start(Worker& worker, int rank, int port) {
        worker.rank = rank;
        worker.process = std::make_unique<QProcess>();
        QProcess& p = *worker.process;
        p.setProcessEnvironment(workerEnvironment(m_launch, rank, port));
        if (rank == 0) {
            p.setProcessChannelMode(QProcess::ForwardedChannels);
        } else {
            p.setStandardOutputFile(QProcess::nullDevice());
            QObject::connect(&p, &QProcess::readyReadStandardError, &m_loop, [&worker] {
                forwardLines(worker, worker.process->readAllStandardError(), false);
            });
        }
#ifdef __linux__
        // A worker must not train on alone when the launcher is killed.
        p.setChildProcessModifier([] { ::prctl(PR_SET_PDEATHSIG, SIGTERM); });
#endif
        QObject::connect(&p, &QProcess::finished, &m_loop, [this, &worker] { finished(worker); });
        p.start(m_launch.program, m_launch.arguments);
        if (!p.waitForStarted()) {
            fail(QStringLiteral("cannot start worker rank %1 of %2 (%3): %4")
                     .arg(rank)
                     .arg(m_launch.workers)
                     .arg(m_launch.program, p.errorString()),
                 1);
            return false;
        }
        worker.pid = p.processId();
        ++m_running;
        return true;
    }

    void finished(Worker& worker) {
        --m_running;
        if (worker.rank != 0)
            forwardLines(worker, worker.process->readAllStandardError(), /*flush=*/true);
        // A worker stopped by us is no failure of its own.
        const QString failure =
            worker.stoppedByUs ? QString() : failureOf(worker, m_launch.workers);
        if (!failure.isEmpty()) {
            const QProcess& p = *worker.process;
            fail(failure, p.exitStatus() == QProcess::CrashExit ? 1 : p.exitCode());
        }
        if (m_running == 0) m_loop.quit();
    }

    // Records a failure (the first one's code is the outcome's) and stops the other workers.
    void fail(const QString& failure, int exitCode) {
        if (m_outcome.failure.isEmpty()) {
            m_outcome.exitCode = exitCode;
            m_outcome.failure = failure;
        } else {
            m_outcome.failure += QStringLiteral("; then ") + failure;
        }
        for (Worker& other : m_workers) {
            if (!other.process || other.process->state() == QProcess::NotRunning ||
                other.stoppedByUs)
                continue;
            other.stoppedByUs = true;
            other.process->terminate();
        }
        QTimer::singleShot(kStopGraceMs, &m_loop, [this] {
            for (Worker& other : m_workers)
                if (other.process && other.process->state() != QProcess::NotRunning)
                    other.process->kill();
        });
    }

    const WorkerLaunch& m_launch;
    std::vector<Worker> m_workers;
    QEventLoop m_loop;
    int m_running = 0;
    LaunchOutcome m_outcome;
};

}  // namespace

LaunchOutcome runWorkers(const WorkerLaunch& launch) {
    if (launch.workers < 1) throw DataError("a data-parallel run needs at least one worker");
    WorkerSupervisor supervisor(launch);
    return supervisor.run();
}

int freeLoopbackPort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw DataError(std::string("cannot open a socket: ") + std::strerror(errno));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof(address);
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
    const int error = errno;
    ::close(fd);
    if (!ok)
        throw DataError(std::string("cannot find a free port on 127.0.0.1: ") +
                        std::strerror(error));
    return ntohs(address.sin_port);
}

}  // namespace le
