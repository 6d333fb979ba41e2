/* ExitBot web chat: sends answers with fetch and shows replies without reloading the page.
   Without this script the page still works: the form posts and the server answers with HTML. */
(function () {
  "use strict";

  var form = document.getElementById("reply");
  if (!form || !window.fetch || !window.JSON) {
    return;
  }
  var log = document.getElementById("log");
  var choices = document.getElementById("choices");
  var row = document.getElementById("choice-row");
  var choiceOn = document.getElementById("choice-on");
  var choiceFor = document.getElementById("choice-for");
  var input = document.getElementById("text");
  var status = document.getElementById("status");
  var ended = document.getElementById("ended");
  var strings = JSON.parse(form.getAttribute("data-strings") || "{}");
  var api = form.getAttribute("data-api");
  var csrf = form.getAttribute("data-csrf");
  var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  var busy = false;
  var pending = null; // the message being sent; a retry reuses its id so it is never doubled

  Array.prototype.forEach.call(document.querySelectorAll(".js-only"), function (el) {
    el.hidden = false;
  });

  function newId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function addMessage(kind, text, mine) {
    var item = document.createElement("li");
    item.className = mine ? "msg msg-you" : "msg msg-bot msg-" + kind;
    var who = document.createElement("span");
    who.className = "who";
    who.textContent = mine ? strings.you : strings.bot;
    var bubble = document.createElement("div");
    bubble.className = "bubble";
    bubble.textContent = text;
    item.appendChild(who);
    item.appendChild(bubble);
    log.appendChild(item);
    return item;
  }

  function showChoices(list, message) {
    while (row.firstChild) {
      row.removeChild(row.firstChild);
    }
    // whose buttons these are, sent with a click (a second tab may still show older ones)
    choiceOn.value = list.length && message ? message.kind || "" : "";
    choiceFor.value = list.length && message ? message.question_id || "" : "";
    list.forEach(function (choice) {
      var button = document.createElement("button");
      button.type = "submit";
      button.name = "choice";
      button.className = "choice";
      button.value = choice.value;
      button.textContent = choice.label;
      row.appendChild(button);
    });
    choices.hidden = list.length === 0;
  }

  function setBusy(on) {
    busy = on;
    form.setAttribute("aria-busy", on ? "true" : "false");
    Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) {
      b.disabled = on;
    });
  }

  function say(text, isError) {
    status.textContent = text || "";
    status.className = isError ? "status error" : "status";
  }

  function reveal(element) {
    if (element && element.scrollIntoView) {
      element.scrollIntoView({ block: "nearest", behavior: reduceMotion ? "auto" : "smooth" });
    }
  }

  function finish() {
    form.hidden = true;
    ended.hidden = false;
    ended.setAttribute("tabindex", "-1");
    ended.focus();
  }

  function send(text, choice, label) {
    if (busy) {
      return;
    }
    if (!pending || pending.text !== text || pending.choice !== choice) {
      pending = {
        id: newId(),
        text: text,
        choice: choice,
        on: choice ? choiceOn.value : "",
        question: choice ? choiceFor.value : ""
      };
    }
    var mine = addMessage("you", label, true);
    reveal(mine);
    setBusy(true);
    say(strings.sending, false);
    var body = { id: pending.id, text: text };
    if (choice) {
      body.choice = choice;
      if (pending.on) {
        body.choice_on = pending.on;
      }
      if (pending.question) {
        body.choice_for = pending.question;
      }
    }
    fetch(api, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body)
    })
      .then(function (response) {
        if (response.status === 404 || response.status === 410) {
          window.location.reload();
          return null;
        }
        if (response.status === 403) {
          throw new Error("stale");
        }
        if (response.status === 400 || response.status === 413) {
          throw new Error("refused");
        }
        if (!response.ok) {
          throw new Error("failed");
        }
        return response.json();
      })
      .then(function (data) {
        if (!data) {
          return;
        }
        pending = null;
        input.value = "";
        say("", false);
        var last = null;
        var offered = [];
        var asking = null;
        data.messages.forEach(function (message) {
          last = addMessage(message.kind, message.text, false);
          offered = message.choices || [];
          asking = message;
        });
        showChoices(data.open ? offered : [], asking);
        setBusy(false);
        if (!data.open) {
          finish();
          return;
        }
        reveal(last);
        input.focus();
      })
      .catch(function (error) {
        log.removeChild(mine);
        if (!choice) {
          input.value = text;
        }
        setBusy(false);
        var reason = error && error.message;
        say(reason === "stale" || reason === "refused" ? strings[reason] : strings.failed, true);
        input.focus();
      });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = event.submitter;
    if (button && button.name === "choice") {
      send(button.textContent, button.value, button.textContent);
      return;
    }
    var text = input.value.trim();
    if (!text) {
      input.focus();
      return;
    }
    send(text, null, text);
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      if (form.requestSubmit) {
        form.requestSubmit();
      } else {
        form.dispatchEvent(new Event("submit", { cancelable: true }));
      }
    }
  });
})();
