# libquant: the one library other projects link (-lquant, libquant::libquant), made from the
# objects of lq_core, lq_formats, lq_eval, lq_pipeline and lq_report. Static by default, shared with
# -DBUILD_SHARED_LIBS=ON (hidden symbols but the LQ_API ones, versioned soname).
#
# The component archives stay static in every build: the tests, benchmarks and fuzz targets
# link them, since they use lqi_ internals that the shared library hides.
set(LQ_COMPONENTS lq_core lq_formats)
if(TARGET lq_eval)
  list(APPEND LQ_COMPONENTS lq_eval lq_pipeline lq_report)
endif()
set(LQ_COMPONENT_OBJECTS "")
set(LQ_PUBLIC_INCLUDE_DIRS "")
foreach(c IN LISTS LQ_COMPONENTS)
  list(APPEND LQ_COMPONENT_OBJECTS $<TARGET_OBJECTS:${c}>)
  get_target_property(src_dir ${c} SOURCE_DIR)
  list(APPEND LQ_PUBLIC_INCLUDE_DIRS ${src_dir}/include)
endforeach()

add_library(libquant ${LQ_COMPONENT_OBJECTS})
add_library(libquant::libquant ALIAS libquant)
add_dependencies(libquant ${LQ_COMPONENTS})
include(GNUInstallDirs)
foreach(dir IN LISTS LQ_PUBLIC_INCLUDE_DIRS)
  target_include_directories(libquant PUBLIC $<BUILD_INTERFACE:${dir}>)
endforeach()
target_include_directories(libquant INTERFACE $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
# What the components link, by the names an installed libquantConfig.cmake recreates
# (lq_deps.cmake); a static libquant passes them on to its consumers' link.
set(LQ_LINK_DEPS OpenMP::OpenMP_C)
foreach(dep IN LISTS LQ_PKG_DEPS)
  string(REGEX MATCH "^[^=]+" dep_name "${dep}")
  list(APPEND LQ_LINK_DEPS PkgConfig::LQ_${dep_name})
endforeach()
target_link_libraries(libquant PRIVATE ${LQ_LINK_DEPS} m)
# 0.x releases may break the ABI at every minor version, so the soname carries both.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(LQ_SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
else()
  set(LQ_SOVERSION ${PROJECT_VERSION_MAJOR})
endif()
set_target_properties(libquant PROPERTIES OUTPUT_NAME quant VERSION ${PROJECT_VERSION}
                      SOVERSION ${LQ_SOVERSION} EXPORT_NAME libquant)
if(BUILD_SHARED_LIBS AND NOT (LQ_SANITIZE OR LQ_FUZZ))
  # Every symbol resolved at link time: a dependency missing above fails here, not in a
  # consumer. (The sanitizer runtimes are resolved by the executable, hence the exception.)
  target_link_options(libquant PRIVATE -Wl,--no-undefined)
endif()
