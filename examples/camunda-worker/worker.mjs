// A loan worker written against Camunda 7 with Camunda's own client
// (camunda-external-task-client-js 3.1.0), run unchanged against Baton's
// /engine-rest. It serves the three service tasks of loan.bpmn:
//
//   score  completes with variables (score, scoredBy)
//   flaky  fails its first attempt with one retry left and a 100 ms retry
//          timeout, then completes (attempts = 2)
//   check  throws the BPMN error REJECTED when the variable reject is true,
//          which the model's boundary event catches; else completes
//
// Environment: BATON_URL (e.g. http://127.0.0.1:8080), BATON_USER and
// BATON_PASSWORD (a user or API key whose role may work external tasks).
// It prints one JSON line per action, for the test that runs it.
import { Client, BasicAuthInterceptor, Variables } from "camunda-external-task-client-js";

const say = (event, task, extra = {}) =>
  console.log(JSON.stringify({ event, topic: task.topicName, id: task.id, processInstanceId: task.processInstanceId, ...extra }));

const client = new Client({
  baseUrl: `${process.env.BATON_URL}/engine-rest`,
  interceptors: new BasicAuthInterceptor({ username: process.env.BATON_USER, password: process.env.BATON_PASSWORD }),
  workerId: "camunda-js-loan-worker",
  maxTasks: 10,
  interval: 50,
  asyncResponseTimeout: 5000,
  lockDuration: 20000,
});

client.on("poll:error", (e) => console.log(JSON.stringify({ event: "poll:error", message: String(e && e.message || e) })));
client.on("complete:error", (task, e) => say("complete:error", task, { message: String(e && e.message || e) }));
client.on("handleFailure:error", (task, e) => say("handleFailure:error", task, { message: String(e && e.message || e) }));
client.on("handleBpmnError:error", (task, e) => say("handleBpmnError:error", task, { message: String(e && e.message || e) }));

client.subscribe("score", async ({ task, taskService }) => {
  const amount = task.variables.get("amount");
  const vars = new Variables().set("score", amount > 1000 ? 40 : 90).set("scoredBy", "camunda-js");
  await taskService.complete(task, vars);
  say("completed", task, { amount });
});

client.subscribe("flaky", async ({ task, taskService }) => {
  if (task.retries === null || task.retries === undefined) {
    await taskService.handleFailure(task, {
      errorMessage: "flaky: the first attempt fails",
      errorDetails: "a stack trace would go here",
      retries: 1,
      retryTimeout: 100,
    });
    say("failed", task);
    return;
  }
  await taskService.complete(task, new Variables().set("attempts", 2));
  say("completed", task, { retries: task.retries });
});

client.subscribe("check", async ({ task, taskService }) => {
  if (task.variables.get("reject")) {
    await taskService.handleBpmnError(task, "REJECTED", "the checker rejected the loan", new Variables().set("rejectedBy", "camunda-js"));
    say("bpmnError", task);
    return;
  }
  await taskService.complete(task);
  say("completed", task);
});

const stop = () => { client.stop(); process.exit(0); };
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
