# The Debian package, built by `cpack -G DEB` in a build configured with -DNDSIP_PACKAGE=ON
# (tests/package/deb_test.sh builds and checks it; the maintainer scripts, conffiles,
# copyright and changelog are in packaging/). Included before the targets: the package's
# layout and flags must be in place when they are defined. ndsip_debian_package() adds the
# package's own install rules and CPack's settings, after the project's install rules.
option(NDSIP_PACKAGE "Configure for the Debian package (cpack -G DEB): /usr layout, Debian build flags, /etc/ndsip/ndsipd.conf" OFF)
if(NOT NDSIP_PACKAGE)
  return()
endif()

# The layout is fixed: ndsipctl's compiled-in data directory and the paths in the unit and
# the configuration must be those the package installs.
set(CMAKE_INSTALL_PREFIX /usr CACHE PATH "Install prefix" FORCE)
set(NDSIP_DATA_DIR /usr/share/ndsip CACHE PATH "Directory holding policies/ and templates/" FORCE)
# Where bookworm's packages put units (dh_installsystemd does too).
set(NDSIP_UNIT_DIR /lib/systemd/system)
set(NDSIP_DEB_REVISION 1)
set(NDSIP_DEB_VERSION ${PROJECT_VERSION}-${NDSIP_DEB_REVISION})
set(NDSIP_DEB_MAINTAINER "ndsip maintainers <ndsip@example.org>")

# Debian's build flags, as debhelper passes them, with every hardening feature (a daemon
# run as root that parses what peers send): on bookworm fortify, stack protector, format
# checks, relro and bindnow (PIE is gcc's default). lintian checks the binaries for them.
# CPPFLAGS go with the compiler flags, since CMake reads no CPPFLAGS.
find_program(DPKG_BUILDFLAGS dpkg-buildflags REQUIRED)
foreach(kind CPPFLAGS CXXFLAGS LDFLAGS)
  execute_process(COMMAND ${CMAKE_COMMAND} -E env DEB_BUILD_MAINT_OPTIONS=hardening=+all
                          ${DPKG_BUILDFLAGS} --get ${kind} OUTPUT_VARIABLE flags
                  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}  # its -ffile-prefix-map maps this to "."
                  OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)
  separate_arguments(flags UNIX_COMMAND "${flags}")
  # No -g: the binaries are stripped and no -dbgsym package is made; it only costs build time.
  list(REMOVE_ITEM flags -g)
  if(kind STREQUAL LDFLAGS)
    add_link_options(${flags})
  else()
    add_compile_options(${flags})
  endif()
endforeach()

macro(ndsip_debian_package)
  set(pkg_dir ${PROJECT_SOURCE_DIR}/packaging)
  set(doc_dir ${CMAKE_INSTALL_DATADIR}/doc/ndsip)

  # /etc/ndsip/ndsipd.conf: the example with the credential lines commented out, so that it
  # passes --check-config on a fresh install (there are no credentials to ship), under a
  # header saying what the operator sets. Configure fails if the example changes shape.
  file(READ ${PROJECT_BINARY_DIR}/systemd/ndsipd.conf.example example)
  string(REGEX REPLACE "\n(cert|key|ca) = " "\n#\\1 = " conf "${example}")
  foreach(line "#cert = " "#key = " "#ca = " "\nnode = ")
    string(FIND "${conf}" "${line}" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "Packaging: systemd/ndsipd.conf.example has no '${line}' line any more")
    endif()
  endforeach()
  file(READ ${pkg_dir}/ndsipd.conf.head head)
  file(WRITE ${PROJECT_BINARY_DIR}/packaging/ndsipd.conf "${head}${conf}")
  install(FILES ${PROJECT_BINARY_DIR}/packaging/ndsipd.conf DESTINATION /etc/ndsip)

  configure_file(${pkg_dir}/changelog.in ${PROJECT_BINARY_DIR}/packaging/changelog @ONLY)
  install(FILES ${pkg_dir}/copyright DESTINATION ${doc_dir})
  install(FILES ${pkg_dir}/lintian-overrides DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides RENAME ndsip)
  # Stripped as dh_strip does it (CPACK_STRIP_FILES would keep .comment). Debian wants man
  # pages and the changelog gzip'ed (-n: no name or time stamp inside: reproducible).
  install(CODE "
    set(root \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}\")
    foreach(exe ${CMAKE_INSTALL_SBINDIR}/ndsipd ${CMAKE_INSTALL_BINDIR}/ndsipctl)
      execute_process(COMMAND ${CMAKE_STRIP} --remove-section=.comment --remove-section=.note
                              \${root}/\${exe} COMMAND_ERROR_IS_FATAL ANY)
    endforeach()
    file(GLOB pages \"\${root}/${CMAKE_INSTALL_MANDIR}/man*/*.[1-9]\")
    foreach(page IN LISTS pages)
      execute_process(COMMAND gzip -9nf \${page} COMMAND_ERROR_IS_FATAL ANY)
    endforeach()
    execute_process(COMMAND gzip -9nc INPUT_FILE ${PROJECT_BINARY_DIR}/packaging/changelog
                    OUTPUT_FILE \${root}/${doc_dir}/changelog.Debian.gz COMMAND_ERROR_IS_FATAL ANY)")

  set(CPACK_GENERATOR DEB)
  set(CPACK_PACKAGE_NAME ndsip)
  set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
  set(CPACK_DEBIAN_PACKAGE_RELEASE ${NDSIP_DEB_REVISION})
  set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
  set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${NDSIP_DEB_MAINTAINER}")
  set(CPACK_DEBIAN_PACKAGE_SECTION net)
  set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
  set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "NDS/IP tunnels for 3GPP SEAL reference points over strongSwan")
  # CPack puts the summary first; this is the extended description under it.
  set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "ndsipd keeps the local strongSwan charon programmed over VICI with exactly
the IKEv2/ESP tunnels (TS 33.210 Za and Zb) that a deployment's topology asks
of this host, and keeps them up. ndsipctl validates and plans topologies
offline and pushes them to ndsipd, or publishes them to a fleet's etcd.")
  # Shared libraries by dpkg-shlibdeps; charon itself (charon-systemd ships the
  # strongswan.service the unit requires, and pulls in the VICI plugin) and the plugins the
  # shipped profiles need (AES-GCM; ECDSA and ECP groups through OpenSSL).
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "charon-systemd, libstrongswan-standard-plugins")
  set(CPACK_DEBIAN_PACKAGE_SUGGESTS "strongswan-pki")
  set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
      ${pkg_dir}/conffiles ${pkg_dir}/postinst ${pkg_dir}/prerm ${pkg_dir}/postrm)
  set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
  # Absolute destinations (/etc/ndsip, /lib/systemd/system) land in the staging tree.
  set(CPACK_SET_DESTDIR ON)
  include(CPack)
endmacro()
