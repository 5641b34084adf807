# Writes the man page of one joincheck command from its --help with help2man, gzipped as Debian
# installs man pages. Run as:
#   cmake -DJOINCHECK=path/to/joincheck -DCOMMAND="run" -DPAGE=joincheck-run -DDESCRIPTION="..."
#         -DVERSION=0.1.0 -DOUTPUT=dir/joincheck-run.1.gz -P man_page.cmake
# COMMAND is "" for the program's own page, else the subcommand ("devices generate").
get_filename_component(dir "${OUTPUT}" DIRECTORY)
set(wrapper "${dir}/bin/${PAGE}")
# help2man runs a program with --help: this one runs joincheck's subcommand.
file(WRITE "${wrapper}" "#!/bin/sh\nexec \"${JOINCHECK}\" ${COMMAND} \"$@\"\n")
file(CHMOD "${wrapper}" PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
string(REPLACE ".gz" "" page "${OUTPUT}")
execute_process(
  COMMAND help2man --no-info --no-discard-stderr --section=1 --name=${DESCRIPTION}
          --version-string=${VERSION} --source=joincheck --output=${page} ${wrapper}
  RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "help2man failed for ${PAGE}: ${err}")
endif()
# help2man names the program after the wrapper's file name; the page shows the command as typed.
file(READ "${page}" text)
string(REPLACE "${wrapper}" "${PAGE}" text "${text}")
file(WRITE "${page}" "${text}")
execute_process(COMMAND gzip -9nf "${page}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "gzip failed for ${page}")
endif()
