// The key form every view starts with, and what a view does when the API refuses the key.

import { forgetKey, storedKey, storeKey } from "./api.js";
import { announce } from "./dom.js";

// Shows the key form until a key is stored, then runs `start` with the view shown.
export function withKey(start) {
  const panel = document.getElementById("key-panel");
  const input = document.getElementById("key");
  let started = false;
  const begin = () => {
    panel.hidden = true;
    document.getElementById("view").hidden = false;
    document.getElementById("sign-out").hidden = false;
    started = true;
    start();
  };
  document.getElementById("sign-out").addEventListener("click", () => {
    forgetKey();
    location.reload();
  });
  document.getElementById("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (!input.value.trim()) return;
    storeKey(input.value);
    input.value = "";
    if (started) location.reload(); // a view starts once per page: begin afresh
    else begin();
  });
  if (storedKey()) {
    begin();
  } else {
    panel.hidden = false;
    input.focus();
  }
}

// 401: the key is unknown, so forget it and ask again. 403: the key is valid but its role
// cannot use this view: say so, and show nothing of the view.
export function refuseView(error, neededRole) {
  const notice = document.getElementById("refused");
  document.getElementById("view").hidden = true;
  if (error.status === 401) {
    forgetKey();
    notice.textContent = `${error.title}. Enter ${neededRole} key.`;
    document.getElementById("key-panel").hidden = false;
    document.getElementById("sign-out").hidden = true;
  } else {
    notice.textContent = `This view needs ${neededRole} key. ${error.detail}`;
  }
  notice.hidden = false;
  announce(notice.textContent);
  notice.focus();
}
