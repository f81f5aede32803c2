// The Java recipe of docs/binary-packages.md, as a stand-in for a
// fabric-chaincode-java chaincode: started by a #!/bin/sh wrapper with
// java -jar, it reads a file of its own package by a relative path and
// records what it saw as one stderr line, "recipe-record {JSON}" (the
// sandbox lets it write nowhere the test could read). The test compiles it
// into app.jar.
import java.nio.file.Files;
import java.nio.file.Paths;

public class App {
    public static void main(String[] args) throws Exception {
        String greeting = new String(Files.readAllBytes(Paths.get("conf/greeting.txt")), "UTF-8").trim();
        String json = "{\"cwd\":\"" + System.getProperty("user.dir") + "\",\"greeting\":\"" + greeting
            + "\",\"id\":\"" + System.getenv("CORE_CHAINCODE_ID_NAME") + "\",\"args\":\"" + String.join(" ", args) + "\"}";
        System.err.println("recipe-record " + json);
        Thread.sleep(Long.MAX_VALUE);
    }
}
