# embed_bytes(FILE C_TYPE C_NAME OUT_DEF OUT_LEN): the file's bytes as a C array definition, NUL-terminated
# ("static const C_TYPE C_NAME[] = {0x.., …, 0x00};", 16 bytes a line), and its length without the NUL. Shared by
# embed_models.cmake and embed_web.cmake, which run as scripts (cmake -P) at build time.
function(embed_bytes file ctype cname out_def out_len)
  file(READ "${file}" hex HEX)
  string(LENGTH "${hex}" hexlen)
  math(EXPR len "${hexlen} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n    " bytes "${bytes}")
  set(${out_def} "static const ${ctype} ${cname}[] = {\n    ${bytes}0x00};\n\n" PARENT_SCOPE)
  set(${out_len} ${len} PARENT_SCOPE)
endfunction()

# Writes text to path through a temporary file and a rename, so a build never sees half a file.
function(write_atomically path text)
  file(WRITE "${path}.tmp" "${text}")
  file(RENAME "${path}.tmp" "${path}")
endfunction()
