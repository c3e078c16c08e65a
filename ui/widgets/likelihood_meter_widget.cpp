#include "ui/widgets/likelihood_meter_widget.h"

#include "core/storage/model_catalog.h"

#include <QEvent>
#include <QFileInfo>
#include <QHelpEvent>
#include <QPainter>
#include <QPainterPath>
#include <QToolTip>

#include <algorithm>
#include <cmath>

namespace le {

namespace {

constexpr int kMargin = 4;
constexpr int kTrackHeight = 14;

QString number(double value) {
    return QString::number(value, 'f', 2);
}

QString kindText(const LikelihoodScore& row) {
    if (row.exact) return LikelihoodMeterWidget::tr("exact");
    return likelihoodBoundName(row.family);
}

}  // namespace

LikelihoodMeterWidget::LikelihoodMeterWidget(QWidget* parent) : QWidget(parent) {
    setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Preferred);
    setToolTip(
        tr("How likely each model finds the image on the left, in bits per dimension "
           "(\u2212log\u2082 p(x) over the number of pixel values): lower = more likely.\n"
           "The grey band is where 90% of held-out test images lie under that model (5th to 95th "
           "percentile, the tick is the median). Outside it, the image is not like the data:\n"
           "\u2022 red, above the band: less likely than nearly every real image (noise, "
           "artefacts);\n"
           "\u2022 orange, below the band: more likely than nearly every real image \u2014 just "
           "as atypical. Likelihood models rate simple, smooth or blank pictures highly, and far "
           "out in latent space a VAE draws exactly those.\n"
           "Glow and PixelCNN give exact likelihoods; the VAE's number is its negative ELBO, an "
           "upper bound on the true bits per dimension (the VQ-VAE's likewise a bound).\n"
           "The image is scored as shown: 8-bit, exactly the pixels on screen. A faded row is of "
           "an earlier image (a newer one arrived while scoring)."));
    clear(tr("No model loaded"));
}

QColor LikelihoodMeterWidget::insideColour() {
    return QColor(0x4E, 0x79, 0xA7);
}
QColor LikelihoodMeterWidget::aboveColour() {
    return QColor(0xE1, 0x57, 0x59);
}
QColor LikelihoodMeterWidget::belowColour() {
    return QColor(0xF2, 0x8E, 0x2B);
}

void LikelihoodMeterWidget::clear(const QString& message) {
    m_rows.clear();
    m_bandsComplete = true;
    m_message = message;
    updateAxis();
    updateGeometry();
    update();
}

void LikelihoodMeterWidget::setScores(const ScoreResult& result) {
    const bool rowsChanged = result.scores.size() != m_rows.size();
    m_rows = result.scores;
    m_bandsComplete = result.bandsComplete;
    m_message = m_rows.isEmpty()
                    ? tr("No model of this dataset has a likelihood: open a Glow, PixelCNN or VAE "
                         "checkpoint of it to score the images.")
                    : QString();
    updateAxis();
    if (rowsChanged) updateGeometry();
    update();
}

void LikelihoodMeterWidget::updateAxis() {
    // Stable while dragging: the axis follows the bands (fixed once measured), not the values.
    double lo = INFINITY, hi = -INFINITY;
    for (const LikelihoodScore& r : m_rows)
        if (r.hasBand()) {
            lo = std::min(lo, r.bandLow);
            hi = std::max(hi, r.bandHigh);
        }
    if (!std::isfinite(lo))
        for (const LikelihoodScore& r : m_rows)
            if (r.hasValue() && std::isfinite(r.bpd)) {
                lo = std::min(lo, r.bpd);
                hi = std::max(hi, r.bpd);
            }
    if (!std::isfinite(lo) || !std::isfinite(hi)) {
        m_axisMin = 0;  // 8 bits per dim: a uniform guess over 256 levels
        m_axisMax = 8;
        return;
    }
    m_axisMin = std::max(0.0, std::floor(lo) - 1.0);
    m_axisMax = std::max(m_axisMin + 3.0, std::ceil(hi) + 2.0);  // room above: "off the data"
}

QString LikelihoodMeterWidget::valueText(int i) const {
    if (i < 0 || i >= m_rows.size()) return {};
    const LikelihoodScore& r = m_rows[i];
    if (r.hasValue()) return number(r.bpd);
    if (!r.error.isEmpty()) return tr("error");
    return {};
}

QColor LikelihoodMeterWidget::barColour(int i) const {
    if (i < 0 || i >= m_rows.size()) return insideColour();
    const int side = m_rows[i].sideOfBand();
    return side > 0 ? aboveColour() : side < 0 ? belowColour() : insideColour();
}

QString LikelihoodMeterWidget::footnote() const {
    if (m_rows.isEmpty()) return {};
    int images = 0, complete = 0, measured = 0;
    for (const LikelihoodScore& r : m_rows) {
        if (!r.error.isEmpty() && !r.hasValue()) continue;
        ++measured;
        images = std::max(images, r.bandImages);
        if (r.bandComplete) ++complete;
    }
    if (measured == 0) return {};
    if (!m_bandsComplete || complete < measured)
        return tr("Measuring the test-set bands\u2026 (%1 of %2)").arg(complete).arg(measured);
    return tr("Grey: where 90% of %1 test images lie; tick: their median").arg(images);
}

int LikelihoodMeterWidget::headerHeight() const {
    return fontMetrics().height() + 2;
}

int LikelihoodMeterWidget::rowHeight() const {
    return fontMetrics().height() + kTrackHeight + 12;
}

QRect LikelihoodMeterWidget::rowRect(int i) const {
    return QRect(0, headerHeight() + i * rowHeight(), width(), rowHeight());
}

QRect LikelihoodMeterWidget::trackRect(int i) const {
    const QRect row = rowRect(i);
    return QRect(kMargin, row.top() + fontMetrics().height() + 2, width() - 2 * kMargin,
                 kTrackHeight);
}

double LikelihoodMeterWidget::xFor(double bpd, const QRect& track) const {
    const double t = (bpd - m_axisMin) / std::max(1e-9, m_axisMax - m_axisMin);
    return track.left() + std::clamp(t, 0.0, 1.0) * track.width();
}

QSize LikelihoodMeterWidget::sizeHint() const {
    const int rows = std::max(1, int(m_rows.size()));
    return QSize(210, headerHeight() + rows * rowHeight() + 3 * fontMetrics().height() + 8);
}

QSize LikelihoodMeterWidget::minimumSizeHint() const {
    return QSize(160, sizeHint().height());
}

void LikelihoodMeterWidget::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing, true);
    const QFontMetrics fm = fontMetrics();
    const QColor text = palette().color(QPalette::WindowText);
    const QColor muted = palette().color(QPalette::PlaceholderText);

    QFont small = font();
    small.setPointSizeF(std::max(6.0, font().pointSizeF() * 0.85));
    const QFontMetrics smallFm(small);

    // Header: which way is better.
    p.setFont(small);
    p.setPen(muted);
    p.drawText(QRect(kMargin, 0, width() - 2 * kMargin, headerHeight()),
               Qt::AlignLeft | Qt::AlignVCenter, tr("bits/dim"));
    p.drawText(QRect(kMargin, 0, width() - 2 * kMargin, headerHeight()),
               Qt::AlignRight | Qt::AlignVCenter, tr("lower = more likely"));

    if (m_rows.isEmpty()) {
        p.setFont(font());
        p.setPen(muted);
        p.drawText(rect().adjusted(kMargin, headerHeight(), -kMargin, 0),
                   Qt::AlignLeft | Qt::AlignTop | Qt::TextWordWrap, m_message);
        return;
    }

    QFont bold = font();
    bold.setBold(true);
    for (int i = 0; i < m_rows.size(); ++i) {
        const LikelihoodScore& r = m_rows[i];
        const QRect row = rowRect(i);
        const QRect track = trackRect(i);
        const QRect line(kMargin, row.top(), width() - 2 * kMargin, fm.height());
        const QColor colour = barColour(i);

        // Title, kind, value.
        p.setFont(bold);
        p.setPen(text);
        p.drawText(line, Qt::AlignLeft | Qt::AlignVCenter, r.title);
        const int titleWidth = QFontMetrics(bold).horizontalAdvance(r.title);
        p.setFont(small);
        p.setPen(muted);
        p.drawText(line.adjusted(titleWidth + 5, 0, 0, 0), Qt::AlignLeft | Qt::AlignVCenter,
                   kindText(r) + (r.decoder ? tr(" \u00b7 decoder") : QString()));
        p.setFont(bold);
        const QString value = valueText(i);
        QColor valueColour = r.sideOfBand() != 0 ? colour : text;
        if (!r.error.isEmpty() && !r.hasValue()) valueColour = aboveColour();
        if (!r.fresh) valueColour.setAlpha(120);
        p.setPen(valueColour);
        p.drawText(line, Qt::AlignRight | Qt::AlignVCenter, value);

        // Track, band, median, bar.
        p.setPen(Qt::NoPen);
        p.setBrush(palette().color(QPalette::Base));
        p.drawRoundedRect(track, 3, 3);
        if (r.hasBand()) {
            const double x0 = xFor(r.bandLow, track), x1 = xFor(r.bandHigh, track);
            p.setBrush(QColor(190, 190, 190));
            p.drawRect(QRectF(x0, track.top(), std::max(2.0, x1 - x0), track.height()));
            if (r.bandMedian == r.bandMedian) {
                p.setPen(QPen(QColor(90, 90, 90), 1.5));
                const double xm = xFor(r.bandMedian, track);
                p.drawLine(QPointF(xm, track.top()), QPointF(xm, track.bottom() + 1));
                p.setPen(Qt::NoPen);
            }
        }
        p.setPen(QPen(QColor(150, 150, 150), 1));
        p.setBrush(Qt::NoBrush);
        p.drawRoundedRect(track, 3, 3);
        if (r.hasValue()) {
            QColor fill = colour;
            if (!r.fresh) fill.setAlpha(110);
            const double x = xFor(r.bpd, track);
            const QRectF bar(track.left(), track.top() + 3, std::max(1.0, x - track.left()),
                             track.height() - 6);
            p.setPen(Qt::NoPen);
            p.setBrush(fill);
            p.drawRect(bar);
            // The value itself: a marker across the track, an arrow when beyond the axis.
            p.setPen(QPen(fill.darker(130), 2.5));
            p.drawLine(QPointF(x, track.top() - 2), QPointF(x, track.bottom() + 2));
            if (r.bpd > m_axisMax || r.bpd < m_axisMin) {
                const double dir = r.bpd > m_axisMax ? 1 : -1;
                QPainterPath arrow;
                const double cy = track.center().y() + 0.5;
                arrow.moveTo(x + dir * 1, cy - 5);
                arrow.lineTo(x + dir * 7, cy);
                arrow.lineTo(x + dir * 1, cy + 5);
                arrow.closeSubpath();
                p.setPen(Qt::NoPen);
                p.setBrush(fill.darker(130));
                p.drawPath(arrow);
            }
        } else if (!r.error.isEmpty()) {
            p.setFont(small);
            p.setPen(aboveColour());
            p.drawText(track, Qt::AlignCenter,
                       smallFm.elidedText(r.error, Qt::ElideRight, track.width() - 4));
        }
    }

    // Axis: a tick and a label per bit.
    const QRect lastTrack = trackRect(int(m_rows.size()) - 1);
    const int axisTop = rowRect(int(m_rows.size()) - 1).bottom() - 2;
    p.setFont(small);
    p.setPen(muted);
    const int step = m_axisMax - m_axisMin > 8 ? 2 : 1;
    for (double v = std::ceil(m_axisMin); v <= m_axisMax + 1e-9; v += step) {
        const double x = xFor(v, lastTrack);
        p.drawLine(QPointF(x, axisTop), QPointF(x, axisTop + 3));
        const QString label = QString::number(v, 'f', 0);
        const int w = smallFm.horizontalAdvance(label);
        const double left = std::clamp(x - w / 2.0, 0.0, double(width() - w));
        p.drawText(QPointF(left, axisTop + 4 + smallFm.ascent()), label);
    }
    const QString note = footnote();
    if (!note.isEmpty()) {
        const int top = axisTop + 6 + smallFm.height();
        p.drawText(QRect(kMargin, top, width() - 2 * kMargin, height() - top),
                   Qt::AlignLeft | Qt::AlignTop | Qt::TextWordWrap, note);
    }
}

QString LikelihoodMeterWidget::rowToolTip(int i) const {
    const LikelihoodScore& r = m_rows[i];
    QStringList lines;
    const QString bound = likelihoodBoundName(r.family);  // "ELBO", or plain "bound"
    lines << tr("%1 (%2): %3")
                 .arg(r.title, QFileInfo(r.path).fileName(),
                      r.exact ? tr("exact log-likelihood")
                      : bound == QLatin1String("bound")
                          ? tr("a bound on \u2212log\u2082 p(x)")
                          : tr("negative %1, an upper bound on \u2212log\u2082 p(x)").arg(bound));
    if (r.hasValue())
        lines << tr("This image: %1 bits/dim%2 (lower = more likely)")
                     .arg(number(r.bpd),
                          r.fresh ? QString() : tr(", of an earlier image: a newer one waited"));
    if (r.hasBand())
        lines << tr("Held-out test images: 90% between %1 and %2, median %3 (%4 images%5)")
                     .arg(number(r.bandLow), number(r.bandHigh), number(r.bandMedian))
                     .arg(r.bandImages)
                     .arg(r.bandComplete ? QString() : tr(", still measuring"));
    if (r.checkpointBpd == r.checkpointBpd)
        lines << tr("Its checkpoint records %1 bits/dim on the test set")
                     .arg(number(r.checkpointBpd));
    const int side = r.sideOfBand();
    if (side > 0)
        lines << tr("Above the band: less likely than 95% of real images \u2014 off the data");
    if (side < 0)
        lines << tr(
            "Below the band: more likely than 95% of real images \u2014 atypically simple "
            "(blank or smooth), also off the data");
    if (!r.error.isEmpty()) lines << tr("Problem: %1").arg(r.error);
    return lines.join('\n');
}

bool LikelihoodMeterWidget::event(QEvent* event) {
    if (event->type() == QEvent::ToolTip) {
        auto* help = static_cast<QHelpEvent*>(event);
        for (int i = 0; i < m_rows.size(); ++i)
            if (rowRect(i).contains(help->pos())) {
                QToolTip::showText(help->globalPos(), rowToolTip(i), this, rowRect(i));
                return true;
            }
    }
    return QWidget::event(event);
}

}  // namespace le
