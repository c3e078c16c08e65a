#include "bench/device/lec_file.h"

#include <fstream>
#include <sstream>
#include <vector>

namespace le::device {
namespace {

const std::string kMagic = "LATENT-EXPLORER-CHECKPOINT\n";

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
    throw ModelError(path + ": " + problem);
}

// Just enough JSON for the header: objects, arrays, strings, numbers and literals; values this
// reader does not need are skipped.
class JsonCursor {
public:
    JsonCursor(const std::string& text, const std::string& path) : m_text(text), m_path(path) {}

    void expect(char c) {
        skipSpace();
        if (m_pos >= m_text.size() || m_text[m_pos] != c)
            fail(m_path, std::string("corrupt header: expected '") + c + "'");
        ++m_pos;
    }

    bool consume(char c) {
        skipSpace();
        if (m_pos < m_text.size() && m_text[m_pos] == c) {
            ++m_pos;
            return true;
        }
        return false;
    }

    std::string string() {
        expect('"');
        std::string out;
        while (m_pos < m_text.size() && m_text[m_pos] != '"') {
            char c = m_text[m_pos++];
            if (c == '\\' && m_pos < m_text.size()) {
                const char e = m_text[m_pos++];
                if (e == 'u') {
                    m_pos += 4;  // the header's own keys and values are ASCII
                    c = '?';
                } else {
                    c = e == 'n' ? '\n' : e == 't' ? '\t' : e;
                }
            }
            out += c;
        }
        expect('"');
        return out;
    }

    double number() {
        skipSpace();
        size_t used = 0;
        const double value = std::stod(m_text.substr(m_pos, 32), &used);
        m_pos += used;
        return value;
    }

    void skipValue() {
        skipSpace();
        if (m_pos >= m_text.size()) fail(m_path, "corrupt header: truncated");
        const char c = m_text[m_pos];
        if (c == '"') {
            string();
        } else if (c == '{') {
            forEachMember([this](const std::string&) { skipValue(); });
        } else if (c == '[') {
            forEachElement([this] { skipValue(); });
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            number();
        } else {
            while (m_pos < m_text.size() && std::isalpha(static_cast<unsigned char>(m_text[m_pos])))
                ++m_pos;  // true, false, null
        }
    }

    template <typename F>
    void forEachMember(F&& onMember) {
        expect('{');
        if (consume('}')) return;
        do {
            const std::string key = string();
            expect(':');
            onMember(key);
        } while (consume(','));
        expect('}');
    }

    template <typename F>
    void forEachElement(F&& onElement) {
        expect('[');
        if (consume(']')) return;
        do onElement();
        while (consume(','));
        expect(']');
    }

private:
    void skipSpace() {
        while (m_pos < m_text.size() && std::isspace(static_cast<unsigned char>(m_text[m_pos])))
            ++m_pos;
    }

    const std::string& m_text;
    const std::string& m_path;
    size_t m_pos = 0;
};

std::string lengthLine(std::istream& in, const std::string& path, const char* what) {
    std::string line;
    if (!std::getline(in, line) || line.empty() || line.size() > 20)
        fail(path, std::string("truncated or corrupt: no ") + what + " length");
    return line;
}

std::string take(std::istream& in, const std::string& path, const std::string& lengthText,
                 const char* what) {
    const long long n = std::stoll(lengthText);
    if (n < 0 || n > (1LL << 32)) fail(path, std::string("corrupt ") + what + " length");
    std::string bytes(static_cast<size_t>(n), '\0');
    if (!in.read(bytes.data(), n)) fail(path, std::string("truncated: ") + what);
    return bytes;
}

void parseHeader(const std::string& json, const std::string& path, LecFile& file) {
    JsonCursor cursor(json, path);
    std::vector<int64_t> shape;
    cursor.forEachMember([&](const std::string& key) {
        if (key == "family") {
            file.family = cursor.string();
        } else if (key == "dataset") {
            file.dataset = cursor.string();
        } else if (key == "config") {
            cursor.forEachMember(
                [&](const std::string& name) { file.config.set(name, cursor.string()); });
        } else if (key == "image_shape") {
            cursor.forEachElement([&] { shape.push_back(static_cast<int64_t>(cursor.number())); });
        } else {
            cursor.skipValue();
        }
    });
    if (file.family.empty()) fail(path, "header has no family");
    if (shape.size() != 3) fail(path, "header has no image_shape [C, H, W]");
    writeImageShape(file.config, ImageShape{shape[0], shape[1], shape[2]});
}

}  // namespace

LecFile readLecFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(path, "cannot be read");
    std::string magic(kMagic.size(), '\0');
    if (!in.read(magic.data(), static_cast<std::streamsize>(magic.size())) || magic != kMagic)
        fail(path, "is not a Latent Explorer checkpoint (no checkpoint signature)");
    LecFile file;
    const std::string header = take(in, path, lengthLine(in, path, "header"), "the header");
    parseHeader(header, path, file);
    file.weights = take(in, path, lengthLine(in, path, "weights"), "the weights");
    return file;
}

std::unique_ptr<GenerativeModel> loadLecModel(const LecFile& file, torch::Device device) {
    auto model = ModelRegistry::instance().create(file.family, file.config);
    std::istringstream weights(file.weights);
    model->loadWeights(weights);
    model->to(device);
    model->train(false);
    return model;
}

}  // namespace le::device
