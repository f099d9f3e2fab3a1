// Posts a SAML response form at once (the HTTP-POST binding): the page's
// Continue button is there for browsers without scripts.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("SAMLResponseForm");
  if (form) {
    document.getElementById("SAMLSubmitButton").hidden = true;
    form.submit();
  }
});
