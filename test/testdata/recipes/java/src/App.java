// The Java recipe of docs/binary-packages.md, as a stand-in for a
// fabric-chaincode-java chaincode: started by a #!/bin/sh wrapper with
// java -jar, it reads a file of its own package by a relative path and
// records what it saw in the file RECIPE_RECORD names. The test compiles it
// into app.jar.
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;

public class App {
    public static void main(String[] args) throws Exception {
        String greeting = new String(Files.readAllBytes(Paths.get("conf/greeting.txt")), "UTF-8").trim();
        String json = "{\"cwd\":\"" + System.getProperty("user.dir") + "\",\"greeting\":\"" + greeting
            + "\",\"id\":\"" + System.getenv("CORE_CHAINCODE_ID_NAME") + "\",\"args\":\"" + String.join(" ", args) + "\"}";
        Path tmp = Paths.get(System.getenv("RECIPE_RECORD") + ".tmp");
        Files.write(tmp, json.getBytes("UTF-8"));
        Files.move(tmp, Paths.get(System.getenv("RECIPE_RECORD")), StandardCopyOption.ATOMIC_MOVE);
        Thread.sleep(Long.MAX_VALUE);
    }
}
