package executable

// File is the entry point of a binary package whose metadata.json has no
// path, and the name under which builds of earlier versions put the
// executable in BUILD_OUTPUT_DIR (see Entry).
const File = "chaincode"
