# TorchWheel.cmake — the `torch` target straight from a pip wheel's torch/ folder,
# for machines without a CUDA toolkit. The wheel is the CUDA build and its
# TorchConfig.cmake then stops ("PyTorch: CUDA cannot be found"), although
# compiling against libtorch's headers needs no toolkit: libtorch_cuda and the
# CUDA runtime come with the wheel and load at run time (a GPU still works;
# only relapse's own CUDA kernels and NCCL backend are left out).
# In: TORCH_WHEEL_ROOT (…/site-packages/torch). Out: target torch, Torch_VERSION,
# TORCH_INSTALL_PREFIX, TORCH_LIBRARY, C10_CUDA_LIBRARY.
set(_root "${TORCH_WHEEL_ROOT}")
file(STRINGS "${_root}/version.py" _ver REGEX "^__version__")
string(REGEX REPLACE ".*'([0-9.]+).*" "\\1" Torch_VERSION "${_ver}")
set(TORCH_INSTALL_PREFIX "${_root}")
set(TORCH_LIBRARY "${_root}/lib/libtorch.so")
set(C10_CUDA_LIBRARY "${_root}/lib/libc10_cuda.so")
add_library(torch INTERFACE IMPORTED)
# --no-as-needed: libtorch.so holds no symbol relapse calls, but loading it is
# what loads libtorch_cuda (CUDA kernels register themselves when loaded).
set_target_properties(torch PROPERTIES
  INTERFACE_INCLUDE_DIRECTORIES "${_root}/include;${_root}/include/torch/csrc/api/include"
  INTERFACE_COMPILE_DEFINITIONS "_GLIBCXX_USE_CXX11_ABI=1"
  INTERFACE_LINK_LIBRARIES
    "-Wl,--no-as-needed;${TORCH_LIBRARY};-Wl,--as-needed;${_root}/lib/libtorch_cpu.so;${_root}/lib/libc10.so;-Wl,-rpath,${_root}/lib")
message(STATUS "Torch ${Torch_VERSION} from the wheel at ${_root} (no CUDA toolkit: TorchConfig skipped)")
