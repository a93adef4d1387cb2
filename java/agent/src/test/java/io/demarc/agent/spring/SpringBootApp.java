package io.demarc.agent.spring;

import io.demarc.agent.servlet.HttpDriver;
import io.demarc.agent.servlet.ServerClock;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.web.servlet.context.ServletWebServerApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * A Spring Boot web app (embedded Tomcat, Spring MVC) with a path template: GET /users/{id}
 * answers "user id"; id "missing" answers 404, "boom" throws (500); {@code ?waitMs=} delays the
 * answer. Driven by {@link HttpDriver}.
 */
@SpringBootApplication
@RestController
public class SpringBootApp {
  @GetMapping("/users/{id}")
  public ResponseEntity<String> user(@PathVariable("id") String id,
      @RequestParam(name = "waitMs", defaultValue = "0") long waitMs) throws InterruptedException {
    if (waitMs > 0) Thread.sleep(waitMs);
    if (id.equals("boom")) throw new IllegalStateException("asked to fail");
    if (id.equals("missing")) return ResponseEntity.status(404).body("no such user");
    return ResponseEntity.ok("user " + id);
  }

  /** The server's own times (a Filter bean is registered for every request). */
  @Bean
  public ServerClock serverClock() {
    return new ServerClock();
  }

  public static void main(String[] args) throws Exception {
    HttpDriver driver = new HttpDriver(ServerClock::takeReport);
    ServletWebServerApplicationContext ctx = (ServletWebServerApplicationContext) SpringApplication.run(
        SpringBootApp.class, "--server.port=0", "--server.address=127.0.0.1", "--spring.main.banner-mode=off",
        "--spring.jmx.enabled=false");
    driver.serve(ctx.getWebServer().getPort());
  }
}
