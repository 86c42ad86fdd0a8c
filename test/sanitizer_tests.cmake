# Test binaries of the sanitizer builds alone (scripts/check-sanitizers), included by
# test/CMakeLists.txt when FGREID_SANITIZE is set. They hold the tests of the code that runs on
# several threads, and of the LibTorch-side readers, and compile only the sources those need, so
# that a run takes minutes: fgreid_tests needs the whole LibTorch half and every recipe, over an
# hour of one core.
# Their ctest names carry a prefix, since fgreid_core_tests and fgreid_tests hold the same cases.

# The evaluation's TBB loops: metrics, re-ranking and single-shot draws against one thread.
add_executable(fgreid_threaded_eval_tests doctest_main.cpp core/test_metrics.cpp
               core/test_rerank.cpp core/test_single_shot.cpp)
target_link_libraries(fgreid_threaded_eval_tests PRIVATE fgreid_core fgreid::fmt_compiled doctest::doctest)
target_include_directories(fgreid_threaded_eval_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR} ${PROJECT_SOURCE_DIR})
target_compile_definitions(fgreid_threaded_eval_tests PRIVATE FGREID_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
                                                              FGREID_BINARY_DIR="${PROJECT_BINARY_DIR}")
doctest_discover_tests(fgreid_threaded_eval_tests TEST_PREFIX "threaded eval: "
                       PROPERTIES ENVIRONMENT "FGREID_CACHE=${PROJECT_BINARY_DIR}/test-cache")

# BatchLoader's coordinator and workers, with the loader's own sources compiled in (as
# fuzz/CMakeLists.txt does for fuzz_jpeg) instead of the whole fgreid library.
add_executable(fgreid_loader_tests doctest_main.cpp torch/test_loader.cpp
               ${PROJECT_SOURCE_DIR}/src/torch/data/loader.cpp ${PROJECT_SOURCE_DIR}/src/torch/data/transforms.cpp)
target_link_libraries(fgreid_loader_tests PRIVATE fgreid_core fgreid::deps_torch doctest::doctest)
target_include_directories(fgreid_loader_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR} ${PROJECT_SOURCE_DIR})
target_compile_definitions(fgreid_loader_tests PRIVATE FGREID_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
                                                       FGREID_BINARY_DIR="${PROJECT_BINARY_DIR}")
if(TURBOJPEG_FOUND)
  target_link_libraries(fgreid_loader_tests PRIVATE PkgConfig::TURBOJPEG)
  target_compile_definitions(fgreid_loader_tests PRIVATE FGREID_HAVE_TURBOJPEG=1)
endif()
doctest_discover_tests(fgreid_loader_tests TEST_PREFIX "loader: "
                       PROPERTIES ENVIRONMENT "FGREID_CACHE=${PROJECT_BINARY_DIR}/test-cache")

# The LibTorch-side readers of outside files (pickles, weights, features files) and the replay
# of the fuzzers' finds, for an ASan + UBSan run that does not wait for the whole library.
add_executable(fgreid_reader_tests doctest_main.cpp torch/test_fuzz_regressions.cpp
               torch/test_untrusted_pickles.cpp ${PROJECT_SOURCE_DIR}/src/torch/detail/pickle.cpp
               ${PROJECT_SOURCE_DIR}/src/torch/models/weights.cpp ${PROJECT_SOURCE_DIR}/src/torch/eval/features_file.cpp)
target_link_libraries(fgreid_reader_tests PRIVATE fgreid_core fgreid::deps_torch doctest::doctest)
target_include_directories(fgreid_reader_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR} ${PROJECT_SOURCE_DIR})
target_compile_definitions(fgreid_reader_tests PRIVATE FGREID_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
                                                       FGREID_BINARY_DIR="${PROJECT_BINARY_DIR}")
doctest_discover_tests(fgreid_reader_tests TEST_PREFIX "readers: "
                       PROPERTIES ENVIRONMENT "FGREID_CACHE=${PROJECT_BINARY_DIR}/test-cache")
