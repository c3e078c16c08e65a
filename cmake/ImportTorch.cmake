# LibTorch as the imported target `torch`, read from a LibTorch folder directly rather than
# through its TorchConfig.cmake. A CUDA LibTorch's config (a CUDA LibTorch zip, or the one inside
# a pip torch) stops with "Your installed Caffe2 version uses CUDA but I cannot find the CUDA
# libraries" on a machine without a CUDA toolkit, although the app needs only the libraries and
# the driver at run time. scripts/build.sh picks this path when it finds no nvcc.
#
#   LE_TORCH_ROOT  the LibTorch folder: it holds include/ and lib/ (for a pip torch, the `torch`
#                  package folder, the parent of torch.utils.cmake_prefix_path's share/cmake)

if(NOT LE_TORCH_ROOT)
  message(FATAL_ERROR "LE_TORCH_IMPORT needs LE_TORCH_ROOT, the LibTorch folder (include/, lib/)")
endif()

find_path(LE_TORCH_INCLUDE torch/torch.h
  PATHS ${LE_TORCH_ROOT}/include/torch/csrc/api/include NO_DEFAULT_PATH)
if(NOT LE_TORCH_INCLUDE)
  message(FATAL_ERROR "${LE_TORCH_ROOT}: no include/torch/csrc/api/include/torch/torch.h: not a LibTorch folder")
endif()

function(le_torch_library var name required)
  find_library(${var} ${name}
    PATHS ${LE_TORCH_ROOT}/lib ${LE_TORCH_ROOT}/lib/${CMAKE_LIBRARY_ARCHITECTURE} NO_DEFAULT_PATH)
  if(required AND NOT ${var})
    message(FATAL_ERROR "${LE_TORCH_ROOT}/lib: no lib${name}: not a LibTorch folder")
  endif()
endfunction()
le_torch_library(LE_TORCH_LIB torch ON)
le_torch_library(LE_TORCH_CPU_LIB torch_cpu ON)
le_torch_library(LE_C10_LIB c10 ON)
le_torch_library(LE_TORCH_CUDA_LIB torch_cuda OFF)
le_torch_library(LE_C10_CUDA_LIB c10_cuda OFF)

# The C++ ABI the libraries were built with, as their own config records it (pip wheels before
# torch 2.7 use the old ABI; Debian's and recent ones the new).
set(LE_TORCH_ABI 1)
file(GLOB_RECURSE torch_configs ${LE_TORCH_ROOT}/share/cmake/Torch/TorchConfig.cmake)
if(torch_configs)
  list(GET torch_configs 0 torch_config)
  file(STRINGS ${torch_config} abi_line REGEX "_GLIBCXX_USE_CXX11_ABI=[01]")
  if(abi_line MATCHES "_GLIBCXX_USE_CXX11_ABI=([01])")
    set(LE_TORCH_ABI ${CMAKE_MATCH_1})
  endif()
endif()

find_package(Threads REQUIRED)
add_library(torch INTERFACE IMPORTED)
set(torch_libraries ${LE_TORCH_LIB} ${LE_TORCH_CPU_LIB} ${LE_C10_LIB})
if(LE_TORCH_CUDA_LIB)
  # Nothing calls torch_cuda by name: without --no-as-needed the linker drops it, and with it
  # the CUDA backend's registration, so the app would find no GPU.
  list(APPEND torch_libraries "-Wl,--no-as-needed" ${LE_TORCH_CUDA_LIB} ${LE_C10_CUDA_LIB}
       "-Wl,--as-needed")
  set(LE_TORCH_HAS_CUDA ON)
endif()
set_target_properties(torch PROPERTIES
  INTERFACE_INCLUDE_DIRECTORIES "${LE_TORCH_ROOT}/include;${LE_TORCH_INCLUDE}"
  INTERFACE_COMPILE_DEFINITIONS "_GLIBCXX_USE_CXX11_ABI=${LE_TORCH_ABI}"
  INTERFACE_LINK_LIBRARIES "${torch_libraries};Threads::Threads")
message(STATUS "LibTorch imported from ${LE_TORCH_ROOT} (CUDA: ${LE_TORCH_HAS_CUDA}, C++11 ABI: ${LE_TORCH_ABI})")
