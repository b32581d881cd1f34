# The libraries libquant links, found the same way by this build and by an installed
# libquantConfig.cmake, where a static libquant needs them at the consumer's link.
#
# Each entry is NAME=pkg-config module. lq_find_deps() makes the imported target
# PkgConfig::LQ_<NAME> (the name the exported libquant target refers to, and the prefix of
# pkg-config's result variables, so nothing of a consumer's own ZLIB_* and such is touched).
set(LQ_PKG_DEPS ZLIB=zlib LIBARCHIVE=libarchive XXHASH=libxxhash JANSSON=jansson
                PCRE2=libpcre2-8 OPENBLAS=openblas LAPACKE=lapacke)

# lq_find_deps(REQUIRED) stops at the first one missing; lq_find_deps(QUIET) lists what is
# missing in LQ_DEPS_MISSING instead. A macro: find_package's results must reach the caller.
macro(lq_find_deps lq_mode)
  set(LQ_DEPS_MISSING "")
  find_package(OpenMP ${lq_mode} COMPONENTS C)
  if(NOT TARGET OpenMP::OpenMP_C)
    list(APPEND LQ_DEPS_MISSING OpenMP)
  endif()
  find_package(PkgConfig ${lq_mode})
  foreach(lq_dep IN LISTS LQ_PKG_DEPS)
    string(REGEX MATCH "^[^=]+" lq_dep_name "${lq_dep}")
    string(REGEX MATCH "[^=]+$" lq_dep_module "${lq_dep}")
    if(NOT TARGET PkgConfig::LQ_${lq_dep_name} AND PKG_CONFIG_FOUND)
      pkg_check_modules(LQ_${lq_dep_name} ${lq_mode} IMPORTED_TARGET ${lq_dep_module})
    endif()
    if(NOT TARGET PkgConfig::LQ_${lq_dep_name})
      list(APPEND LQ_DEPS_MISSING ${lq_dep_module})
    endif()
  endforeach()
endmacro()

# PkgConfig::<NAME> for this tree's own targets (tools, tests); an alias of a non-global
# imported target is seen by this directory and those below it.
macro(lq_dep_aliases)
  foreach(lq_dep IN LISTS LQ_PKG_DEPS)
    string(REGEX MATCH "^[^=]+" lq_dep_name "${lq_dep}")
    if(NOT TARGET PkgConfig::${lq_dep_name})
      add_library(PkgConfig::${lq_dep_name} ALIAS PkgConfig::LQ_${lq_dep_name})
    endif()
  endforeach()
endmacro()
