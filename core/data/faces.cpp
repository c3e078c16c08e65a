#include "core/data/faces.h"

#include <opencv2/core/utility.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

namespace le {

namespace {

// Shapes are laid out in units of a 256-pixel square, drawn anti-aliased on a canvas 4x the
// output size, then area-resized: the sub-pixel edges average into soft, natural ones.
constexpr float kUnits = 256.0f;
// Fixed-point sub-pixel precision for OpenCV's drawing functions.
constexpr int kShift = 4;
constexpr float kPi = 3.14159265358979f;

using Rgb = cv::Vec3f;
using Poly = std::vector<cv::Point2f>;

float sq(float v) {
    return v * v;
}
float clamp01(float v) {
    return std::clamp(v, 0.0f, 1.0f);
}
float smoothstep(float e0, float e1, float x) {
    const float t = clamp01((x - e0) / (e1 - e0));
    return t * t * (3 - 2 * t);
}
Rgb mix(const Rgb& a, const Rgb& b, float t) {
    return a * (1 - t) + b * t;
}

// Piecewise-linear colour ramp through evenly spaced stops.
Rgb ramp(std::initializer_list<Rgb> stops, float t) {
    const std::vector<Rgb> s(stops);
    const float x = clamp01(t) * float(s.size() - 1);
    const int i = std::min(int(x), int(s.size()) - 2);
    return mix(s[size_t(i)], s[size_t(i) + 1], x - float(i));
}

Rgb hsv(float hueDeg, float sat, float val) {
    const float h = std::fmod(hueDeg, 360.0f) / 60.0f;
    const float c = val * sat;
    const float x = c * (1 - std::fabs(std::fmod(h, 2.0f) - 1));
    Rgb rgb;
    if (h < 1)
        rgb = {c, x, 0};
    else if (h < 2)
        rgb = {x, c, 0};
    else if (h < 3)
        rgb = {0, c, x};
    else if (h < 4)
        rgb = {0, x, c};
    else if (h < 5)
        rgb = {x, 0, c};
    else
        rgb = {c, 0, x};
    const float m = val - c;
    return (rgb + Rgb(m, m, m)) * 255.0f;
}

// Points on an axis-aligned ellipse arc, degrees clockwise from +x (image y points down).
void arc(Poly& out, float cx, float cy, float ax, float ay, float from, float to, int steps) {
    for (int i = 0; i <= steps; ++i) {
        const float t = (from + (to - from) * float(i) / float(steps)) * kPi / 180.0f;
        out.emplace_back(cx + ax * std::cos(t), cy + ay * std::sin(t));
    }
}

Poly ellipse(float cx, float cy, float ax, float ay, int steps = 40) {
    Poly p;
    arc(p, cx, cy, ax, ay, 0, 360.0f * float(steps - 1) / float(steps), steps - 1);
    return p;
}

// A band between two curves running the same way (lids, lips, lenses' rims).
Poly band(Poly outer, const Poly& inner) {
    outer.insert(outer.end(), inner.rbegin(), inner.rend());
    return outer;
}

// A straight stroke as a quad, its width tapering from w0 to w1.
Poly stroke(cv::Point2f a, cv::Point2f b, float w0, float w1) {
    cv::Point2f d = b - a;
    const float len = std::max(std::hypot(d.x, d.y), 1e-3f);
    const cv::Point2f n(-d.y / len, d.x / len);
    return {a + n * (w0 / 2), b + n * (w1 / 2), b - n * (w1 / 2), a - n * (w0 / 2)};
}

// The circle clipped to the ellipse: an iris never spills out of the eye, whatever the gaze.
// Both are convex and the circle's centre lies inside the ellipse, so sorting by angle works.
Poly circleInEllipse(cv::Point2f c, float r, cv::Point2f e, float ax, float ay) {
    Poly p;
    const int n = 32;
    for (int i = 0; i < n; ++i) {
        const float t = 2 * kPi * float(i) / float(n);
        const cv::Point2f q = c + cv::Point2f(r * std::cos(t), r * std::sin(t));
        if (sq((q.x - e.x) / ax) + sq((q.y - e.y) / ay) <= 1) p.push_back(q);
        const cv::Point2f k = e + cv::Point2f(ax * std::cos(t), ay * std::sin(t));
        if (sq(k.x - c.x) + sq(k.y - c.y) <= r * r) p.push_back(k);
    }
    std::sort(p.begin(), p.end(), [c](const cv::Point2f& a, const cv::Point2f& b) {
        return std::atan2(a.y - c.y, a.x - c.x) < std::atan2(b.y - c.y, b.x - c.x);
    });
    return p;
}

// Draws layout-unit shapes onto the canvas; only filled polygons, which are cheap with AA
// (thick anti-aliased polylines are an order of magnitude slower).
class Painter {
public:
    Painter(cv::Mat& canvas) : m_img(canvas), m_scale(float(canvas.cols) / kUnits) {}

    void fill(const Poly& p, const Rgb& c) {
        std::vector<std::vector<cv::Point>> pts{toPixels(p)};
        cv::fillPoly(m_img, pts, sc(c), cv::LINE_AA, kShift);
    }
    void fillConvex(const Poly& p, const Rgb& c) {
        cv::fillConvexPoly(m_img, toPixels(p), sc(c), cv::LINE_AA, kShift);
    }
    // Several contours filled even-odd: a ring is an outer and an inner contour.
    void fillContours(const std::vector<Poly>& polys, const Rgb& c) {
        std::vector<std::vector<cv::Point>> pts;
        for (const Poly& p : polys) pts.push_back(toPixels(p));
        cv::fillPoly(m_img, pts, sc(c), cv::LINE_AA, kShift);
    }
    // A convex shape at opacity `alpha`; touches only its bounding box.
    void blendConvex(const Poly& p, const Rgb& c, float alpha) {
        std::vector<cv::Point> px = toPixels(p);
        cv::Rect box = cv::boundingRect(px);
        box = cv::Rect(box.x >> kShift, box.y >> kShift, (box.width >> kShift) + 3,
                       (box.height >> kShift) + 3) &
              cv::Rect(0, 0, m_img.cols, m_img.rows);
        if (box.empty()) return;
        for (cv::Point& q : px) q -= cv::Point(box.x << kShift, box.y << kShift);
        cv::Mat roi = m_img(box);
        cv::Mat layer = roi.clone();
        cv::fillConvexPoly(layer, px, sc(c), cv::LINE_AA, kShift);
        cv::addWeighted(layer, alpha, roi, 1 - alpha, 0, roi);
    }
    void clear(const Rgb& c) { m_img.setTo(sc(c)); }

private:
    static cv::Scalar sc(const Rgb& c) { return {c[0], c[1], c[2]}; }
    std::vector<cv::Point> toPixels(const Poly& p) const {
        std::vector<cv::Point> out;
        out.reserve(p.size());
        const float k = m_scale * float(1 << kShift);
        for (const cv::Point2f& q : p)
            out.emplace_back(int(std::lround(q.x * k)), int(std::lround(q.y * k)));
        return out;
    }

    cv::Mat& m_img;
    float m_scale;
};

struct Layout {
    float cx, cy, b;  // head centre and half-height, in layout units
    Rgb background;
};

Layout drawFace(Painter& pen, const FaceFactors& f) {
    const float yaw = (f.poseShift - 0.5f) * 2.0f;
    const float a = 58.0f + 24.0f * f.faceWidth;
    const float b = 74.0f + 22.0f * f.faceHeight;
    const float cx = 128.0f + yaw * 16.0f;
    const float cy = 132.0f;
    const float fx = cx + yaw * 0.14f * a;  // features move further than the outline: a turn

    const Rgb skin =
        ramp({{255, 224, 196}, {236, 188, 150}, {200, 140, 98}, {146, 98, 66}, {92, 60, 42}},
             f.skinTone);
    const Rgb hair = ramp(
        {{28, 22, 20}, {88, 56, 34}, {152, 84, 44}, {210, 164, 92}, {238, 222, 170}}, f.hairColour);
    const Rgb background = hsv(20.0f + 300.0f * f.background, 0.38f, 0.86f);
    const Rgb shirt = hsv(200.0f + 300.0f * f.background, 0.45f, 0.50f);
    const Rgb outline = skin * 0.36f;

    pen.clear(background);

    // Hair style: short crop at 0, a fringe around the middle, long at 1 (overlapping smoothly).
    const float h = f.hairShape;
    const float longHair = smoothstep(0.5f, 0.95f, h);
    const float fringe = clamp01(1.0f - std::fabs(h - 0.45f) / 0.3f);
    const float volume = (0.05f + 0.10f * h) * b;
    const float hairA = a * 1.06f + 0.25f * volume, hairB = b + volume;
    const float hairCy = cy + 0.02f * b;

    if (longHair > 0.01f) {  // the mass behind head and neck
        Poly back;
        arc(back, cx, hairCy, hairA, hairB, 180, 360, 24);
        const float bottom = cy + b * (0.05f + 0.95f * longHair);
        const float flare = hairA * (1.0f + 0.12f * longHair);
        back.emplace_back(cx + flare, bottom);
        back.emplace_back(cx + 0.5f * flare, bottom + 0.06f * b);
        back.emplace_back(cx - 0.5f * flare, bottom + 0.06f * b);
        back.emplace_back(cx - flare, bottom);
        pen.fill(back, hair * 0.85f);
    }

    // Shoulders and neck, in shadow under the chin.
    pen.fillConvex(ellipse(128.0f + yaw * 6.0f, 292.0f, 124.0f, 72.0f, 60), shirt);
    pen.fillConvex({{cx - 0.36f * a, cy + 0.4f * b},
                    {cx + 0.36f * a, cy + 0.4f * b},
                    {cx + 0.42f * a, 240.0f},
                    {cx - 0.42f * a, 240.0f}},
                   skin * 0.82f);
    pen.fillConvex(ellipse(cx, 236.0f, 0.42f * a, 10.0f, 24), shirt * 0.8f);

    // Ears at eye level, then the head, its lower half a shade darker.
    const float earY = cy + 0.02f * b;
    for (int side = -1; side <= 1; side += 2)
        pen.fillConvex(
            ellipse(cx + float(side) * a * 0.97f - yaw * 0.05f * a, earY, 0.15f * a, 0.22f * b, 20),
            skin * 0.9f);
    pen.fillConvex(ellipse(cx, cy, a, b, 64), skin);
    pen.fillConvex(ellipse(cx, cy + 0.55f * b, 0.62f * a, 0.36f * b, 32), skin * 0.96f);

    // Eyes: whites, an iris that follows the gaze, pupil, catch-light, lids.
    const float eyeW = a * (0.12f + 0.15f * f.eyeSize);
    const float eyeH = eyeW * 0.64f;
    const float eyeD = a * (0.28f + 0.22f * f.eyeSpacing);
    const float eyeY = cy - 0.06f * b;
    const float gaze = (f.gazeX - 0.5f) * 2.0f;
    const float irisR = eyeH * 0.9f;
    const Rgb iris = mix({78, 50, 30}, {70, 112, 150}, smoothstep(0.55f, 0.95f, f.hairColour));
    for (int side = -1; side <= 1; side += 2) {
        const cv::Point2f e(fx + float(side) * eyeD, eyeY);
        pen.fillConvex(ellipse(e.x, e.y, eyeW, eyeH, 28), {246, 246, 240});
        const cv::Point2f ic(e.x + gaze * (eyeW - 0.6f * irisR), eyeY);
        pen.fillConvex(circleInEllipse(ic, irisR, e, eyeW, eyeH), iris);
        pen.fillConvex(circleInEllipse(ic, irisR * 0.5f, e, eyeW, eyeH), {15, 12, 12});
        pen.fillConvex(
            ellipse(ic.x - irisR * 0.3f, ic.y - irisR * 0.3f, irisR * 0.2f, irisR * 0.2f, 10),
            {255, 255, 255});
        Poly lidOuter, lidInner, lowOuter, lowInner;
        arc(lidOuter, e.x, e.y, eyeW * 1.08f, eyeH + 0.035f * b, 175, 365, 14);
        arc(lidInner, e.x, e.y, eyeW, eyeH, 175, 365, 14);
        pen.fill(band(lidOuter, lidInner), outline);
        arc(lowOuter, e.x, e.y, eyeW * 1.02f, eyeH + 0.012f * b, 15, 165, 10);
        arc(lowInner, e.x, e.y, eyeW, eyeH, 15, 165, 10);
        pen.fill(band(lowOuter, lowInner), mix(skin, outline, 0.5f));
    }

    // Nose: a shadow under the tip and a small curve.
    const float nx = fx + 0.06f * (fx - cx), ny = cy + 0.22f * b;
    pen.fillConvex(ellipse(nx, ny + 0.02f * b, 0.13f * a, 0.06f * b, 20), skin * 0.86f);
    Poly noseOuter, noseInner;
    arc(noseOuter, nx, ny, 0.12f * a, 0.06f * b + 1.5f, 20, 160, 10);
    arc(noseInner, nx, ny - 1.5f, 0.11f * a, 0.05f * b, 20, 160, 10);
    pen.fill(band(noseOuter, noseInner), skin * 0.6f);

    // Mouth: a lens between two curves; the curve goes from frown (0) to smile (1).
    const float smile = (f.mouthCurve - 0.5f) * 2.0f;
    const float mx = fx + 0.04f * (fx - cx), my = cy + 0.52f * b;
    const float mw = 0.38f * a;
    const float bend = smile * 0.14f * b;
    const float open = (0.055f + 0.07f * std::max(smile, 0.0f)) * b;
    Poly mouth;
    const int n = 16;
    for (int i = 0; i <= n; ++i) {  // upper lip edge, left to right
        const float s = -1.0f + 2.0f * float(i) / float(n);
        mouth.emplace_back(mx + s * mw, my + bend * (0.5f - s * s) - 0.01f * b);
    }
    for (int i = n; i >= 0; --i) {  // lower edge, right to left
        const float s = -1.0f + 2.0f * float(i) / float(n);
        mouth.emplace_back(mx + s * mw, my + bend * (0.5f - s * s) + open * (1 - s * s));
    }
    pen.fill(mouth, mix(skin * 0.4f, {110, 24, 34}, 0.6f));

    // Hair on top: outer arc over the head, back along a hairline that a fringe lowers.
    {
        Poly cap;
        arc(cap, cx, hairCy, hairA, hairB, 180, 360, 28);
        const float temple = cy - 0.08f * b;
        const float top = cy - (0.60f - 0.26f * fringe) * b;
        const int m = 24;
        for (int i = 0; i <= m; ++i) {  // right temple to left temple
            const float t = float(i) / float(m);
            const float x = cx + (1 - 2 * t) * a * 0.93f + (fx - cx) * 0.5f;
            const float arch = std::pow(std::max(std::sin(kPi * t), 0.0f), 0.45f - 0.3f * fringe);
            float y = temple - (temple - top) * arch;
            if (i % 2 == 1 && i > 2 && i < m - 2) y += 0.035f * b * fringe;  // fringe tips
            cap.emplace_back(x, y);
        }
        pen.fill(cap, hair);
    }
    if (longHair > 0.01f) {  // locks falling beside the face
        for (int side = -1; side <= 1; side += 2) {
            Poly outer, inner;
            const float y0 = cy - 0.3f * b, y1 = cy + (0.1f + 0.55f * longHair) * b;
            const float w = (0.05f + 0.16f * longHair) * a;
            const int m = 10;
            for (int i = 0; i <= m; ++i) {
                const float t = float(i) / float(m);
                const float y = y0 + (y1 - y0) * t;
                const float e = a * 1.05f * std::sqrt(std::max(0.0f, 1 - sq((y - cy) / b)));
                const float taper = std::max(std::sin(kPi * (0.15f + 0.85f * t)), 0.2f);
                outer.emplace_back(cx + float(side) * (e + 0.06f * a), y);
                inner.emplace_back(cx + float(side) * (e - w * taper), y);
            }
            pen.fill(band(outer, inner), hair);
        }
    }

    // Eyebrows, over any fringe as in a drawing: the inner ends go down (stern) or up
    // (worried) with the angle factor.
    const Rgb brow = mix(hair, {30, 22, 20}, 0.55f);
    const float browY = cy - 0.27f * b - (eyeH - 0.09f * a) * 0.6f;
    const float browLen = eyeW * 1.2f;
    const float tilt = (f.eyebrowAngle - 0.5f) * 2.0f * 30.0f * kPi / 180.0f;
    for (int side = -1; side <= 1; side += 2) {
        const float bx = fx + float(side) * eyeD;
        const float dx = browLen * std::cos(tilt), dy = browLen * std::sin(tilt);
        const cv::Point2f inner(bx - float(side) * dx, browY + dy);  // towards the nose
        const cv::Point2f outer(bx + float(side) * dx, browY - dy);
        pen.fillConvex(stroke(inner, outer, 0.11f * b, 0.07f * b), brow);
    }

    // Glasses above a threshold; heavier frames and darker lenses as the factor grows.
    if (f.glasses > 0.6f) {
        const float t = (f.glasses - 0.6f) / 0.4f;
        const float lensA = eyeW * 1.35f + 0.03f * a, lensB = lensA * 0.8f;
        const Rgb frame{28, 26, 30};
        const float rim = (0.022f + 0.02f * t) * b;
        const float ly = eyeY - 0.1f * lensB;
        for (int side = -1; side <= 1; side += 2) {
            const float lx = fx + float(side) * eyeD;
            if (t > 0.1f)
                pen.blendConvex(ellipse(lx, ly, lensA, lensB, 32), {20, 24, 30}, 0.6f * t);
            pen.fillContours(
                {ellipse(lx, ly, lensA + rim, lensB + rim, 32), ellipse(lx, ly, lensA, lensB, 32)},
                frame);
            const float armX = cx + float(side) * a * 0.99f;
            pen.fillConvex(stroke({lx + float(side) * (lensA + rim * 0.5f), ly - 0.2f * lensB},
                                  {armX, ly - 0.25f * lensB}, rim * 0.8f, rim * 0.8f),
                           frame);
        }
        pen.fillConvex(stroke({fx - eyeD + lensA, ly - 0.3f * lensB},
                              {fx + eyeD - lensA, ly - 0.3f * lensB}, rim * 0.8f, rim * 0.8f),
                       frame);
    }
    return {cx, cy, b, background};
}

// Light as a gradient across everything that is not background, at the output resolution.
void applyLight(cv::Mat& out, const FaceFactors& f, const Layout& L) {
    const float theta = (f.lightDirection - 0.5f) * kPi * 0.9f;
    const float lx = std::sin(theta), ly = -std::cos(theta);  // from the left, above, the right
    const float scale = float(out.cols) / kUnits;
    const float hx = L.cx * scale, hy = L.cy * scale, r = L.b * scale;
    const cv::Vec3f bg = L.background;
    for (int y = 0; y < out.rows; ++y) {
        auto* row = out.ptr<cv::Vec3b>(y);
        for (int x = 0; x < out.cols; ++x) {
            const cv::Vec3f p(row[x][0], row[x][1], row[x][2]);
            const float diff = std::max(
                {std::fabs(p[0] - bg[0]), std::fabs(p[1] - bg[1]), std::fabs(p[2] - bg[2])});
            const float w = clamp01(diff / 40.0f);
            if (w <= 0) continue;
            const float dx = (float(x) + 0.5f - hx) / r, dy = (float(y) + 0.5f - hy) / r;
            const float gain = 1.0f + w * (0.38f * (lx * dx + ly * dy) - 0.06f);
            for (int c = 0; c < 3; ++c) row[x][c] = cv::saturate_cast<uint8_t>(p[c] * gain);
        }
    }
}

void renderInto(const FaceFactors& f, cv::Mat& out) {
    // 4x supersampling looks the same as 6x or 8x after the area resize and costs far less;
    // an integer factor keeps INTER_AREA on its fast path.
    const int factor = 4;
    thread_local cv::Mat canvas;
    canvas.create(out.rows * factor, out.cols * factor, CV_8UC3);
    Painter pen(canvas);
    const Layout layout = drawFace(pen, f);
    cv::resize(canvas, out, out.size(), 0, 0, cv::INTER_AREA);
    applyLight(out, f, layout);
}

uint64_t splitMix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

ImageSet renderSet(int size, int64_t count, uint64_t base) {
    if (size < 8) throw std::invalid_argument("face size must be at least 8 pixels");
    ImageSet set;
    std::vector<FaceFactors> factors(size_t(std::max<int64_t>(count, 0)));
    torch::Tensor table = torch::empty({int64_t(factors.size()), FaceFactors::kCount});
    auto acc = table.accessor<float, 2>();
    for (size_t i = 0; i < factors.size(); ++i) {
        // Train and test differ in parity, so their seeds never coincide.
        factors[i] = FaceFactors::random(base + 2 * uint64_t(i));
        const auto values = factors[i].toArray();
        for (int k = 0; k < FaceFactors::kCount; ++k) acc[int64_t(i)][k] = values[size_t(k)];
    }
    torch::Tensor pixels = torch::empty({int64_t(factors.size()), size, size, 3}, torch::kUInt8);
    uint8_t* data = pixels.data_ptr<uint8_t>();
    const size_t stride = size_t(size) * size_t(size) * 3;
    cv::parallel_for_(cv::Range(0, int(factors.size())), [&](const cv::Range& r) {
        for (int i = r.start; i < r.end; ++i) {
            cv::Mat out(size, size, CV_8UC3, data + stride * size_t(i));
            renderInto(factors[size_t(i)], out);
        }
    });
    set.images = pixels.permute({0, 3, 1, 2}).to(torch::kFloat).div_(127.5).sub_(1.0).contiguous();
    set.factors = table;
    return set;
}

}  // namespace

QStringList FaceFactors::names() {
    return {QStringLiteral("faceWidth"),      QStringLiteral("faceHeight"),
            QStringLiteral("skinTone"),       QStringLiteral("hairColour"),
            QStringLiteral("hairShape"),      QStringLiteral("eyeSize"),
            QStringLiteral("eyeSpacing"),     QStringLiteral("gazeX"),
            QStringLiteral("eyebrowAngle"),   QStringLiteral("mouthCurve"),
            QStringLiteral("glasses"),        QStringLiteral("background"),
            QStringLiteral("lightDirection"), QStringLiteral("poseShift")};
}

std::array<float, FaceFactors::kCount> FaceFactors::toArray() const {
    return {faceWidth, faceHeight,   skinTone,   hairColour, hairShape,  eyeSize,        eyeSpacing,
            gazeX,     eyebrowAngle, mouthCurve, glasses,    background, lightDirection, poseShift};
}

FaceFactors FaceFactors::fromArray(const std::array<float, kCount>& v) {
    FaceFactors f;
    float* fields[kCount] = {&f.faceWidth,      &f.faceHeight, &f.skinTone,   &f.hairColour,
                             &f.hairShape,      &f.eyeSize,    &f.eyeSpacing, &f.gazeX,
                             &f.eyebrowAngle,   &f.mouthCurve, &f.glasses,    &f.background,
                             &f.lightDirection, &f.poseShift};
    for (int k = 0; k < kCount; ++k) *fields[k] = clamp01(v[size_t(k)]);
    return f;
}

FaceFactors FaceFactors::random(uint64_t seed) {
    // mt19937_64 is specified bit for bit; the mapping to [0, 1) is ours, unlike
    // std::uniform_real_distribution, which differs between standard libraries.
    std::mt19937_64 gen(splitMix64(seed));
    std::array<float, kCount> v{};
    for (auto& x : v) x = float(double(gen() >> 11) * 0x1.0p-53);
    return fromArray(v);
}

cv::Mat renderFace(const FaceFactors& factors, int size) {
    cv::Mat out(size, size, CV_8UC3);
    renderInto(factors, out);
    return out;
}

Dataset makeFaceDataset(const FaceDatasetOptions& options) {
    Dataset ds;
    ds.name =
        options.size == 32 ? QStringLiteral("faces") : QStringLiteral("faces%1").arg(options.size);
    ds.shape = ImageShape{3, options.size, options.size};
    ds.factorNames = FaceFactors::names();
    const uint64_t base = splitMix64(options.seed);
    ds.train = renderSet(options.size, options.trainCount, base);
    ds.test = renderSet(options.size, options.testCount, base + 1);
    return ds;
}

}  // namespace le
