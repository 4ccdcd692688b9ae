# cmake -P step for ndsip-topology(5): head + docs/topology.md (laid out for a man page by
# topology-to-man.awk) + tail -> MARKDOWN, then go-md2man -> OUT.
execute_process(COMMAND ${AWK} -v body=${BODY} -f ${SCRIPT} ${HEAD} ${BODY} ${TAIL}
                OUTPUT_FILE ${MARKDOWN} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "topology-to-man.awk failed: ${rc}")
endif()
execute_process(COMMAND ${GO_MD2MAN} -in ${MARKDOWN} -out ${OUT} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "go-md2man failed on ${MARKDOWN}: ${rc}")
endif()
