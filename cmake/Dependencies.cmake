# Every dependency, and the Debian package (or setup step) that provides it.
function(fgreid_require found what package)
  if(NOT ${found})
    message(FATAL_ERROR "fgreid needs ${what}: install it with `apt-get install ${package}` "
                        "(scripts/setup installs everything)")
  endif()
endfunction()

find_package(Python3 COMPONENTS Interpreter)
fgreid_require(Python3_FOUND "Python 3" "python3")

# LibTorch comes from the PyPI torch wheel in the project virtualenv (scripts/setup).
if(NOT Torch_DIR AND NOT CMAKE_PREFIX_PATH MATCHES "torch")
  set(FGREID_TORCH_PYTHON "${PROJECT_SOURCE_DIR}/.venv/bin/python" CACHE FILEPATH
      "Python whose torch package provides LibTorch")
  execute_process(COMMAND ${FGREID_TORCH_PYTHON} -c "import torch;print(torch.utils.cmake_prefix_path)"
                  OUTPUT_VARIABLE torch_prefix OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc
                  ERROR_QUIET)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "fgreid needs LibTorch from PyPI's torch==2.11.0 in ${FGREID_TORCH_PYTHON}: "
                        "run scripts/setup (or pass -DFGREID_TORCH_PYTHON=/path/to/python)")
  endif()
  list(APPEND CMAKE_PREFIX_PATH ${torch_prefix})
endif()
# Naming the architectures skips Caffe2's GPU probe (a CUDA try_run that fails with C++20 on
# CMake 3.25 and needs a GPU anyway). We compile no CUDA code ourselves; this only sets flags.
set(TORCH_CUDA_ARCH_LIST "8.0;9.0" CACHE STRING "CUDA architectures for Caffe2's config")
find_package(Torch QUIET)
fgreid_require(Torch_FOUND "LibTorch" "torch==2.11.0 into .venv (scripts/setup)")

find_package(Boost 1.74 COMPONENTS program_options)
fgreid_require(Boost_FOUND "Boost (Hana, program_options)" "libboost-dev libboost-program-options-dev")
find_package(OpenCV QUIET COMPONENTS core imgproc imgcodecs)
if(NOT OpenCV_FOUND)
  # A prefix holding only the three modules we use (scripts/gpu-build unpacks one) has no
  # usable OpenCVConfig: Debian's names all 55 modules and checks that each file exists.
  find_path(OpenCV_INCLUDE_DIRS opencv2/core.hpp PATH_SUFFIXES opencv4)
  set(OpenCV_LIBS "")
  foreach(module core imgproc imgcodecs)
    find_library(FGREID_OPENCV_${module} opencv_${module})
    if(FGREID_OPENCV_${module})
      list(APPEND OpenCV_LIBS ${FGREID_OPENCV_${module}})
    endif()
  endforeach()
  list(LENGTH OpenCV_LIBS found_modules)
  if(OpenCV_INCLUDE_DIRS AND found_modules EQUAL 3)
    set(OpenCV_FOUND TRUE)
  endif()
endif()
fgreid_require(OpenCV_FOUND "OpenCV" "libopencv-dev")
find_package(range-v3 QUIET)
fgreid_require(range-v3_FOUND "range-v3" "librange-v3-dev")
find_package(doctest QUIET)
fgreid_require(doctest_FOUND "doctest" "doctest-dev")
find_package(fmt QUIET)
fgreid_require(fmt_FOUND "fmt" "libfmt-dev")
find_package(nlohmann_json QUIET)
fgreid_require(nlohmann_json_FOUND "nlohmann-json" "nlohmann-json3-dev")
find_package(TBB QUIET)
fgreid_require(TBB_FOUND "oneTBB" "libtbb-dev")
find_package(Threads REQUIRED)

# MATLAB files of the releases: v7.3 (HDF5) through libhdf5, v5 through matio (CUHK03, GRID).
# Through pkg-config: CMake's FindHDF5 test-compiles C, which this C++ project does not enable.
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(HDF5 QUIET IMPORTED_TARGET hdf5)
  pkg_check_modules(MATIO QUIET IMPORTED_TARGET matio)
endif()
fgreid_require(HDF5_FOUND "HDF5" "libhdf5-dev pkg-config")
fgreid_require(MATIO_FOUND "matio" "libmatio-dev pkg-config")
# zlib: src/core/datasets/mat_guard.cpp inflates compressed v5 elements to check their sizes
# before matio allocates what they claim.
find_package(ZLIB QUIET)
fgreid_require(ZLIB_FOUND "zlib" "zlib1g-dev")
add_library(fgreid_mat_files INTERFACE)
target_link_libraries(fgreid_mat_files INTERFACE PkgConfig::HDF5 PkgConfig::MATIO ZLIB::ZLIB)
add_library(fgreid::mat_files ALIAS fgreid_mat_files)

add_library(fgreid_deps_core INTERFACE)
target_link_libraries(fgreid_deps_core INTERFACE
  Boost::headers Boost::program_options ${OpenCV_LIBS} range-v3::range-v3
  nlohmann_json::nlohmann_json TBB::tbb Threads::Threads)
target_include_directories(fgreid_deps_core SYSTEM INTERFACE ${OpenCV_INCLUDE_DIRS})
target_compile_definitions(fgreid_deps_core INTERFACE
  FGREID_PYTHON="${PROJECT_SOURCE_DIR}/.venv/bin/python")
add_library(fgreid::deps_core ALIAS fgreid_deps_core)

# LibTorch's include folder carries its own fmt (12.x) headers, which shadow Debian's fmt 9 in
# every translation unit that sees torch. Those use fmt header-only; torch-free code (and only
# it) links Debian's libfmt.
add_library(fgreid_fmt_compiled INTERFACE)
target_link_libraries(fgreid_fmt_compiled INTERFACE fmt::fmt)
add_library(fgreid::fmt_compiled ALIAS fgreid_fmt_compiled)

add_library(fgreid_deps_torch INTERFACE)
# libtorch.so and libtorch_cpu.so export copies of std::filesystem (remove_all, ...) that
# crash when called from our code. Naming libstdc++ before them makes the dynamic linker bind
# those symbols to the system library.
target_link_libraries(fgreid_deps_torch INTERFACE
  "-Wl,--push-state,--no-as-needed,-lstdc++,--pop-state" ${TORCH_LIBRARIES})
target_compile_options(fgreid_deps_torch INTERFACE ${TORCH_CXX_FLAGS})
target_compile_definitions(fgreid_deps_torch INTERFACE FMT_HEADER_ONLY)
add_library(fgreid::deps_torch ALIAS fgreid_deps_torch)
