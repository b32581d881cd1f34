# cmake --install BUILD --prefix P lays out:
#   P/bin/quant                              the program (LQ_BUILD_TOOLS)
#   P/include/lq/*.h                         the public headers of the five components
#   P/lib/libquant.a, or libquant.so.<ver>   the library (BUILD_SHARED_LIBS)
#   P/lib/pkgconfig/libquant.pc              pkg-config --cflags --libs libquant
#   P/lib/cmake/libquant/                    find_package(libquant) -> libquant::libquant
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)
set(LQ_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/libquant)

# ---- the library and its headers ----------------------------------------------------------
install(TARGETS libquant EXPORT libquantTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} NAMELINK_COMPONENT Development
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
foreach(dir IN LISTS LQ_PUBLIC_INCLUDE_DIRS)
  install(DIRECTORY ${dir}/lq DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
endforeach()

# ---- CMake package --------------------------------------------------------------------------
install(EXPORT libquantTargets NAMESPACE libquant:: DESTINATION ${LQ_CMAKE_DIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/libquantConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/libquantConfig.cmake
                              INSTALL_DESTINATION ${LQ_CMAKE_DIR})
# 0.x minor versions are not compatible with each other (see the soname).
write_basic_package_version_file(${PROJECT_BINARY_DIR}/libquantConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/libquantConfig.cmake
              ${PROJECT_BINARY_DIR}/libquantConfigVersion.cmake
              ${CMAKE_CURRENT_LIST_DIR}/lq_deps.cmake
        DESTINATION ${LQ_CMAKE_DIR})

# ---- pkg-config -----------------------------------------------------------------------------
# A shared libquant carries its dependencies itself: they are private, needed only by
# `pkg-config --static`. A static-only install has nothing to carry them, so there they are
# plain Requires/Libs and `pkg-config --cflags --libs libquant` links as it is.
set(LQ_PC_REQUIRES "")
foreach(dep IN LISTS LQ_PKG_DEPS)
  string(REGEX MATCH "[^=]+$" module "${dep}")
  list(APPEND LQ_PC_REQUIRES ${module})
endforeach()
list(JOIN LQ_PC_REQUIRES ", " LQ_PC_REQUIRES)
if(BUILD_SHARED_LIBS)
  set(LQ_PC_PRIVATE ".private")
  set(LQ_PC_LIBS "")
  set(LQ_PC_LIBS_PRIVATE "${OpenMP_C_FLAGS} -lm")
else()
  set(LQ_PC_PRIVATE "")
  set(LQ_PC_LIBS "${OpenMP_C_FLAGS} -lm")
  set(LQ_PC_LIBS_PRIVATE "")
endif()
# Relocatable: the prefix is found from the .pc file's own place.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(LQ_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH LQ_PC_PREFIX "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
  string(REGEX REPLACE "/$" "" LQ_PC_PREFIX "${LQ_PC_PREFIX}")
  set(LQ_PC_PREFIX "\${pcfiledir}/${LQ_PC_PREFIX}")
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/libquant.pc.in ${PROJECT_BINARY_DIR}/libquant.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/libquant.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# ---- the quant program ----------------------------------------------------------------------
# Files generated for quant (shell completion, man page) are installed next to it here.
if(LQ_BUILD_TOOLS)
  install(TARGETS quant RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  if(BUILD_SHARED_LIBS)
    set_target_properties(quant PROPERTIES INSTALL_RPATH "$ORIGIN/../${CMAKE_INSTALL_LIBDIR}")
  endif()
endif()
