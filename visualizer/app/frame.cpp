// One frame of flashlab-viz's UI, shared by the window loop, the screenshot and the benchmark.
#include <GLFW/glfw3.h>
#include <imgui.h>
#include <imgui_impl_glfw.h>
#include <imgui_impl_opengl3.h>

#include "modes.hpp"
#include "theme.hpp"

namespace flashlab::viz::app {

void new_frame(App& app, double dt, const ImVec2* forced_size) {
  ImGui_ImplOpenGL3_NewFrame();
  ImGui_ImplGlfw_NewFrame();
  if (forced_size != nullptr) {  // off-screen: the framebuffer object's size, not the window's
    ImGui::GetIO().DisplaySize = *forced_size;
    ImGui::GetIO().DisplayFramebufferScale = ImVec2(1, 1);
  }
  ImGui::NewFrame();
  draw_ui(app, dt);
  ImGui::Render();
}

void render(int width, int height) {
  glViewport(0, 0, width, height);
  const palette::Rgb bg = palette::kBackground;
  glClearColor(float(bg.r) / 255.0f, float(bg.g) / 255.0f, float(bg.b) / 255.0f, 1.0f);
  glClear(GL_COLOR_BUFFER_BIT);
  ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
}

}  // namespace flashlab::viz::app
