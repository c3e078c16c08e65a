#pragma once

#include "core/metrics/likelihood_meter.h"

#include <QColor>
#include <QWidget>

namespace le {

// The latent map's likelihood meter: one row per scoring model with the image's bits per
// dimension as a bar on a shared axis, over a grey band where held-out test images lie under
// that model (5th to 95th percentile, a tick at the median). A bar above the band (less likely
// than nearly every real image) turns red, below it orange; a value carried over from an earlier
// image (scoring was cut short by a newer drag) is drawn faded. Painted, not built of child
// widgets, so that a drag repaints one small widget.
class LikelihoodMeterWidget final : public QWidget {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(LikelihoodMeterWidget)

public:
    explicit LikelihoodMeterWidget(QWidget* parent = nullptr);

    // No rows; `message` in their place ("No model loaded", "Scoring…").
    void clear(const QString& message);
    void setScores(const ScoreResult& result);

    int rowCount() const { return m_rows.size(); }
    const LikelihoodScore& row(int i) const { return m_rows.at(i); }
    // The number a row shows ("3.52"), or its problem; empty when it has none yet.
    QString valueText(int i) const;
    // The colour row i's bar is drawn in: blue inside the band, red above it, orange below it.
    QColor barColour(int i) const;
    // Axis of the bars, bits per dimension.
    double axisMin() const { return m_axisMin; }
    double axisMax() const { return m_axisMax; }
    QString message() const { return m_message; }
    QRect rowRect(int i) const;
    // The line under the rows: what the bands rest on, or how far their measuring is.
    QString footnote() const;

    static QColor insideColour();
    static QColor aboveColour();
    static QColor belowColour();

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

protected:
    void paintEvent(QPaintEvent* event) override;
    bool event(QEvent* event) override;

private:
    void updateAxis();
    QRect trackRect(int i) const;
    double xFor(double bpd, const QRect& track) const;
    QString rowToolTip(int i) const;
    int rowHeight() const;
    int headerHeight() const;

    QVector<LikelihoodScore> m_rows;
    bool m_bandsComplete = true;
    QString m_message;
    double m_axisMin = 0, m_axisMax = 8;
};

}  // namespace le
