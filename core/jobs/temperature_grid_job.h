#pragma once

// One temperature for every family, over a synchronised sample grid: rows are the models of a
// dataset, columns the same K sample indices of one seed (or, in a sweep, the same K samples at
// several temperatures). What T means is each family's own (FamilyInfo::temperatureMeaning); a
// seed fixes the noise, so T alone moves the samples. Latest request wins (a slider move stops the
// running one between models or between autoregressive steps). Fast families go first;
// autoregressive ones step their whole batch at once and report partial images as they fill
// (core/latent/sampling.h).

#include "core/jobs/model_job.h"

#include <QMetaType>
#include <QString>
#include <QStringList>

#include <opencv2/core.hpp>

#include <vector>

namespace le {

// The sweep's columns: the same seed at each of these temperatures.
std::vector<double> sweepTemperatures();

struct TemperatureRequest {
    QStringList checkpoints;           // the rows
    std::vector<double> temperatures;  // the columns: one (the grid) or sweepTemperatures()
    int count = 8;                     // K samples per cell: indices 0..K-1 of the one seed
    quint64 seed = 1;                  // the same for every row and every temperature
    int tileColumns = 4;               // how `tile` lays out the K samples
    QString device = QStringLiteral("cpu");
};

// One model at one temperature: K samples, finished or partly filled.
struct TemperatureCell {
    int row = 0;     // index into the request's checkpoints
    int column = 0;  // index into the request's temperatures
    double temperature = 1.0;
    QString checkpointPath;
    QString family;
    QString title;                         // "PixelCNN · faces"
    std::vector<cv::Mat> images;           // K 8-bit images (grey or RGB), sample index order
    cv::Mat tile;                          // the same images tiled `tileColumns` wide
    qint64 stepsDone = 1, totalSteps = 1;  // positions filled for an autoregressive family
    bool complete = false;
    double ms = 0;  // time spent sampling this cell so far
    QString error;
};

class TemperatureGridJob final : public RequestJob<TemperatureRequest> {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(TemperatureGridJob)

public:
    explicit TemperatureGridJob(QObject* parent = nullptr);
    ~TemperatureGridJob() override;

    // Thread-safe and never blocks: replaces any pending or running request; returns its
    // generation (results of older generations are stale). progress counts thousandths of a
    // cell over every cell of the request.
    quint64 begin(const TemperatureRequest& request) { return submitRequest(request); }

signals:
    void cellReady(quint64 generation, const le::TemperatureCell& cell);

private:
    void process(quint64 generation) override;
};

}  // namespace le

Q_DECLARE_METATYPE(le::TemperatureCell)
