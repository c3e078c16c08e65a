#include "core/data/dataset.h"

namespace le {

namespace {

// Labels and factors are optional; an undefined tensor stays undefined.
torch::Tensor sliceRows(const torch::Tensor& t, int64_t begin, int64_t end) {
    return t.defined() ? t.slice(0, begin, end).contiguous() : torch::Tensor();
}

torch::Tensor selectRows(const torch::Tensor& t, const torch::Tensor& rows) {
    return t.defined() ? t.index_select(0, rows) : torch::Tensor();
}

}  // namespace

ImageSet ImageSet::slice(int64_t begin, int64_t end) const {
    const int64_t n = size();
    begin = std::clamp<int64_t>(begin, 0, n);
    end = std::clamp<int64_t>(end, begin, n);
    return {sliceRows(images, begin, end), sliceRows(labels, begin, end),
            sliceRows(factors, begin, end)};
}

ImageSet ImageSet::index(const torch::Tensor& rows) const {
    const torch::Tensor r = rows.to(torch::kCPU, torch::kLong).flatten();
    return {selectRows(images, r), selectRows(labels, r), selectRows(factors, r)};
}

}  // namespace le
