package executable

// File is the name build gives the chaincode executable in BUILD_OUTPUT_DIR,
// whatever its name in the package, so run always knows what to start.
const File = "chaincode"
