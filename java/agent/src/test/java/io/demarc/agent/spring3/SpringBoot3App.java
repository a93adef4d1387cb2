package io.demarc.agent.spring3;

import io.demarc.agent.servlet.HttpDriver;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import java.io.IOException;
import java.util.concurrent.atomic.LongAdder;
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
 * The Spring Boot 2 app of io.demarc.agent.spring for Spring Boot 3 (jakarta.servlet, embedded
 * Tomcat 10.1): the same controller, with a jakarta filter for the server's own times. Compiled
 * against Spring 5's annotations and API, whose descriptors Spring 6 keeps.
 */
@SpringBootApplication
@RestController
public class SpringBoot3App {
  static final LongAdder CALLS = new LongAdder();
  static final LongAdder NANOS = new LongAdder();

  @GetMapping("/users/{id}")
  public ResponseEntity<String> user(@PathVariable("id") String id,
      @RequestParam(name = "waitMs", defaultValue = "0") long waitMs) throws InterruptedException {
    if (waitMs > 0) Thread.sleep(waitMs);
    if (id.equals("boom")) throw new IllegalStateException("asked to fail");
    if (id.equals("missing")) return ResponseEntity.status(404).body("no such user");
    return ResponseEntity.ok("user " + id);
  }

  /** The server's own times: a Filter bean is registered for every request. */
  @Bean
  public Filter serverClock() {
    return new Filter() {
      @Override
      public void doFilter(ServletRequest req, ServletResponse res, FilterChain chain)
          throws IOException, ServletException {
        long t0 = System.nanoTime();
        try {
          chain.doFilter(req, res);
        } finally {
          NANOS.add(System.nanoTime() - t0);
          CALLS.increment();
        }
      }
    };
  }

  static String takeReport() {
    long n = CALLS.sumThenReset();
    long ns = NANOS.sumThenReset();
    return "server " + n + " " + (n == 0 ? 0 : ns / n);
  }

  public static void main(String[] args) throws Exception {
    HttpDriver driver = new HttpDriver(SpringBoot3App::takeReport);
    ServletWebServerApplicationContext ctx = (ServletWebServerApplicationContext) SpringApplication.run(
        SpringBoot3App.class, "--server.port=0", "--server.address=127.0.0.1", "--spring.main.banner-mode=off",
        "--spring.jmx.enabled=false");
    driver.serve(ctx.getWebServer().getPort());
  }
}
