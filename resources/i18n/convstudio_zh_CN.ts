<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN" sourcelanguage="en">
    <context>
        <name>ConvStudio</name>
        <message>
            <source>&amp;About ConvStudio</source>
            <translation>关于 ConvStudio(&amp;A)</translation>
        </message>
        <message>
            <source>&amp;Display mode</source>
            <translation>显示方式(&amp;D)</translation>
        </message>
        <message>
            <source>&amp;Edit</source>
            <translation>编辑(&amp;E)</translation>
        </message>
        <message>
            <source>&amp;Export feature maps…</source>
            <translation>导出特征图(&amp;E)…</translation>
        </message>
        <message>
            <source>&amp;File</source>
            <translation>文件(&amp;F)</translation>
        </message>
        <message>
            <source>&amp;Fit to window</source>
            <translation>适应窗口(&amp;F)</translation>
        </message>
        <message>
            <source>&amp;Help</source>
            <translation>帮助(&amp;H)</translation>
        </message>
        <message>
            <source>&amp;Kernel</source>
            <translation>卷积核(&amp;K)</translation>
        </message>
        <message>
            <source>&amp;Keyboard shortcuts</source>
            <translation>键盘快捷键(&amp;K)</translation>
        </message>
        <message>
            <source>&amp;Layer</source>
            <translation>层(&amp;L)</translation>
        </message>
        <message>
            <source>&amp;Lock levels across layers</source>
            <translation>各层锁定色阶(&amp;L)</translation>
        </message>
        <message>
            <source>&amp;New pipeline</source>
            <translation>新建流水线(&amp;N)</translation>
        </message>
        <message>
            <source>&amp;Next lesson</source>
            <translation>下一课(&amp;N)</translation>
        </message>
        <message>
            <source>&amp;Open image…</source>
            <translation>打开图像(&amp;O)…</translation>
        </message>
        <message>
            <source>&amp;Panels</source>
            <translation>面板(&amp;P)</translation>
        </message>
        <message>
            <source>&amp;Preview large images (faster)</source>
            <translation>大图预览（更快）(&amp;P)</translation>
        </message>
        <message>
            <source>&amp;Previous lesson</source>
            <translation>上一课(&amp;P)</translation>
        </message>
        <message>
            <source>&amp;Quit</source>
            <translation>退出(&amp;Q)</translation>
        </message>
        <message>
            <source>&amp;Redo</source>
            <translation>重做(&amp;R)</translation>
        </message>
        <message>
            <source>&amp;Save pipeline</source>
            <translation>保存流水线(&amp;S)</translation>
        </message>
        <message>
            <source>&amp;Shift the input...</source>
            <translation>平移输入(&amp;S)...</translation>
        </message>
        <message>
            <source>&amp;Undo</source>
            <translation>撤销(&amp;U)</translation>
        </message>
        <message>
            <source>&amp;View</source>
            <translation>视图(&amp;V)</translation>
        </message>
        <message>
            <source>0 is the input; the maps are computed at full resolution</source>
            <translation>0 为输入；特征图按全分辨率计算</translation>
        </message>
        <message>
            <source>0: plain gradient descent; 0.9 gets far faster on photos</source>
            <translation>0：普通梯度下降；0.9 在照片上快得多</translation>
        </message>
        <message>
            <source>1 / the largest curvature of the loss, estimated when a run starts</source>
            <translation>1 / 损失的最大曲率，每次运行开始时估计</translation>
        </message>
        <message>
            <source>1. Fully connected: too many parameters</source>
            <translation>1. 全连接：参数太多</translation>
        </message>
        <message>
            <source>10. An even kernel: ceil on top, floor at the bottom</source>
            <translation>10. 偶数尺寸的卷积核：上方向上取整，下方向下取整</translation>
        </message>
        <message>
            <source>11. Strides 3 and 2</source>
            <translation>11. 步幅 3 和 2</translation>
        </message>
        <message>
            <source>12. Stride shrinks it</source>
            <translation>12. 步幅使输出变小</translation>
        </message>
        <message>
            <source>128 x 128, black left half, white right half</source>
            <translation>128 x 128，左半黑，右半白</translation>
        </message>
        <message>
            <source>128 x 256, 0 on the left to 1 on the right</source>
            <translation>128 x 256，从左侧的 0 到右侧的 1</translation>
        </message>
        <message>
            <source>12b. Stride (3, 4) on 8 x 8</source>
            <translation>12b. 8 x 8 上的步幅 (3, 4)</translation>
        </message>
        <message>
            <source>13. Two input channels are summed</source>
            <translation>13. 两个输入通道相加</translation>
        </message>
        <message>
            <source>14. Several output channels</source>
            <translation>14. 多个输出通道</translation>
        </message>
        <message>
            <source>15. 1 x 1 convolution mixes channels</source>
            <translation>15. 1 x 1 卷积混合通道</translation>
        </message>
        <message>
            <source>16 bit</source>
            <translation>16 位</translation>
        </message>
        <message>
            <source>16. Max pooling</source>
            <translation>16. 最大池化</translation>
        </message>
        <message>
            <source>16b. Average pooling</source>
            <translation>16b. 平均池化</translation>
        </message>
        <message>
            <source>17. Pooling with padding and stride</source>
            <translation>17. 带填充和步幅的池化</translation>
        </message>
        <message>
            <source>17b. Padding 1, stride 2</source>
            <translation>17b. 填充 1，步幅 2</translation>
        </message>
        <message>
            <source>17c. A (2, 3) window, padding (0, 1), stride (2, 3)</source>
            <translation>17c. (2, 3) 窗口，填充 (0, 1)，步幅 (2, 3)</translation>
        </message>
        <message>
            <source>18. Why pool: less sensitive to position</source>
            <translation>18. 为什么要池化：降低对位置的敏感性</translation>
        </message>
        <message>
            <source>19. Kernels are learned</source>
            <translation>19. 卷积核是学出来的</translation>
        </message>
        <message>
            <source>1×1 conv (channel mixer)</source>
            <translation>1×1 卷积（通道混合）</translation>
        </message>
        <message>
            <source>2. Translation invariance: the same weights everywhere</source>
            <translation>2. 平移不变性：处处使用相同的权重</translation>
        </message>
        <message>
            <source>256 x 256 uniform noise</source>
            <translation>256 x 256 均匀噪声</translation>
        </message>
        <message>
            <source>256 x 256, squares of 32 pixels</source>
            <translation>256 x 256，边长 32 像素的方格</translation>
        </message>
        <message>
            <source>3. Locality: a window of (2Δ + 1)²</source>
            <translation>3. 局部性：(2Δ + 1)² 的窗口</translation>
        </message>
        <message>
            <source>384 x 384 concentric rings, rising frequency</source>
            <translation>384 x 384 同心圆环，频率逐渐升高</translation>
        </message>
        <message>
            <source>4. Cross-correlation</source>
            <translation>4. 互相关</translation>
        </message>
        <message>
            <source>5. Convolution flips the kernel</source>
            <translation>5. 卷积会翻转卷积核</translation>
        </message>
        <message>
            <source>6. An edge detector: [1, -1]</source>
            <translation>6. 边缘检测器：[1, -1]</translation>
        </message>
        <message>
            <source>65 x 65, one white pixel in the middle</source>
            <translation>65 x 65，正中一个白色像素</translation>
        </message>
        <message>
            <source>7. Receptive fields grow with depth</source>
            <translation>7. 感受野随深度增大</translation>
        </message>
        <message>
            <source>8 bit</source>
            <translation>8 位</translation>
        </message>
        <message>
            <source>8. Padding: 3 x 3 becomes 5 x 5</source>
            <translation>8. 填充：3 x 3 变成 5 x 5</translation>
        </message>
        <message>
            <source>9. Padding keeps the shape</source>
            <translation>9. 填充保持形状</translation>
        </message>
        <message>
            <source>&lt;p&gt;Design, see and understand image convolution: kernels, CNN layer stacks, shapes and receptive fields.&lt;/p&gt;&lt;p&gt;Cross-correlation as in PyTorch; the NumPy core is the reference, checked against OpenCV.&lt;/p&gt;</source>
            <translation>&lt;p&gt;设计、观察并理解图像卷积：卷积核、CNN 层堆叠、形状与感受野。&lt;/p&gt;&lt;p&gt;与 PyTorch 一样计算互相关；以 NumPy 内核为参考实现，并与 OpenCV 交叉核对。&lt;/p&gt;</translation>
        </message>
        <message>
            <source>A 1x1 convolution mixing R, G, B into one gray channel with weights 0.299, 0.587, 0.114 (sum 1)</source>
            <translation>用 1x1 卷积以权重 0.299、0.587、0.114（和为 1）把 R、G、B 混合成一个灰度通道</translation>
        </message>
        <message>
            <source>A CNN layer: weight (Cout, Cin, 3, 3), each output sums over all input channels</source>
            <translation>CNN 层：权重 (Cout, Cin, 3, 3)，每个输出对所有输入通道求和</translation>
        </message>
        <message>
            <source>A disabled layer passes its input through unchanged</source>
            <translation>停用的层把输入原样传递下去</translation>
        </message>
        <message>
            <source>A label for this layer, saved in the pipeline file</source>
            <translation>这一层的标签，保存在流水线文件中</translation>
        </message>
        <message>
            <source>About ConvStudio</source>
            <translation>关于 ConvStudio</translation>
        </message>
        <message>
            <source>Abs</source>
            <translation>绝对值</translation>
        </message>
        <message>
            <source>Absolute |x|</source>
            <translation>绝对值 |x|</translation>
        </message>
        <message>
            <source>Add</source>
            <translation>添加</translation>
        </message>
        <message>
            <source>Add a layer after the selected one</source>
            <translation>在所选层之后添加一层</translation>
        </message>
        <message>
            <source>Add layer</source>
            <translation>添加层</translation>
        </message>
        <message>
            <source>Add rows and columns around the map</source>
            <translation>在特征图四周添加行和列</translation>
        </message>
        <message>
            <source>Added after the weighted sum: one number for every channel, or one per output channel, separated by commas</source>
            <translation>加权求和之后加上：所有通道共用一个数，或每个输出通道一个数，用逗号分隔</translation>
        </message>
        <message>
            <source>Adds back what a Gaussian blur removes, amount times; sum 1, so flat areas are unchanged</source>
            <translation>把高斯模糊去掉的细节按倍数加回；和为 1，平坦区域保持不变</translation>
        </message>
        <message>
            <source>After every change, recompute each layer with an independent OpenCV implementation and compare (slower; off by default)</source>
            <translation>每次修改后，用独立的 OpenCV 实现重新计算每一层并比较（较慢；默认关闭）</translation>
        </message>
        <message>
            <source>An image or .npy file...</source>
            <translation>图像或 .npy 文件...</translation>
        </message>
        <message>
            <source>An output is an image while every layer so far filters each channel alone (kernel-form convs, pooling, pad, stride, activations); after a conv with a weight its channels are feature maps, written one gray file each</source>
            <translation>只要此前每一层都逐通道单独滤波（卷积核形式的卷积、池化、填充、步幅、激活函数），输出就是一幅图像；经过带权重的卷积之后，各通道成为特征图，每个通道写成一个灰度文件</translation>
        </message>
        <message>
            <source>Auto</source>
            <translation>自动</translation>
        </message>
        <message>
            <source>Auto (diverging for signed data)</source>
            <translation>自动（有符号数据用发散色图）</translation>
        </message>
        <message>
            <source>Averages along a line, like a camera moving during the exposure; sum 1 keeps brightness</source>
            <translation>沿一条线取平均，如同曝光时相机在移动；和为 1，保持亮度</translation>
        </message>
        <message>
            <source>Avg pool 2×2</source>
            <translation>平均池化 2×2</translation>
        </message>
        <message>
            <source>Back to all channels</source>
            <translation>回到所有通道</translation>
        </message>
        <message>
            <source>Basic</source>
            <translation>基础</translation>
        </message>
        <message>
            <source>Bias</source>
            <translation>偏置</translation>
        </message>
        <message>
            <source>Blur</source>
            <translation>模糊</translation>
        </message>
        <message>
            <source>Blur, then second derivative: finds edges at the chosen scale and ignores fine noise; sum 0</source>
            <translation>先模糊再求二阶导数：在选定尺度上找边缘，忽略细小噪声；和为 0</translation>
        </message>
        <message>
            <source>Box blur</source>
            <translation>方框模糊</translation>
        </message>
        <message>
            <source>Box blur (Blur)</source>
            <translation>方框模糊（模糊）</translation>
        </message>
        <message>
            <source>Bring back the kernel from before the run (one undo step)</source>
            <translation>恢复运行前的卷积核（一步撤销）</translation>
        </message>
        <message>
            <source>Browse…</source>
            <translation>浏览…</translation>
        </message>
        <message>
            <source>Cameraman</source>
            <translation>摄影师</translation>
        </message>
        <message>
            <source>Cat</source>
            <translation>猫</translation>
        </message>
        <message>
            <source>Ceil mode (keep a last partial window)</source>
            <translation>向上取整模式（保留最后一个不完整的窗口）</translation>
        </message>
        <message>
            <source>Cell</source>
            <translation>细胞</translation>
        </message>
        <message>
            <source>Channel mixing</source>
            <translation>通道混合</translation>
        </message>
        <message>
            <source>Channels</source>
            <translation>通道</translation>
        </message>
        <message>
            <source>Channels shown in the grid</source>
            <translation>网格中显示的通道</translation>
        </message>
        <message>
            <source>Checkerboard</source>
            <translation>棋盘格</translation>
        </message>
        <message>
            <source>Clear</source>
            <translation>清除</translation>
        </message>
        <message>
            <source>Clear pins</source>
            <translation>清除固定点</translation>
        </message>
        <message>
            <source>Clear receptive-field pins</source>
            <translation>清除感受野固定点</translation>
        </message>
        <message>
            <source>Click a pixel of the selected layer's maps to see how its value was computed.</source>
            <translation>单击所选层特征图上的一个像素，查看它的值是如何算出来的。</translation>
        </message>
        <message>
            <source>Clip to [0, 1]</source>
            <translation>截断到 [0, 1]</translation>
        </message>
        <message>
            <source>Close</source>
            <translation>关闭</translation>
        </message>
        <message>
            <source>Coffee</source>
            <translation>咖啡</translation>
        </message>
        <message>
            <source>Colour</source>
            <translation>颜色</translation>
        </message>
        <message>
            <source>Columns right (negative: left)</source>
            <translation>向右的列数（负数：向左）</translation>
        </message>
        <message>
            <source>Combined kernel</source>
            <translation>合成卷积核</translation>
        </message>
        <message>
            <source>Compare border modes</source>
            <translation>比较边界模式</translation>
        </message>
        <message>
            <source>Compare border modes…</source>
            <translation>比较边界模式…</translation>
        </message>
        <message>
            <source>Compare the selected layer's map for the input and the input shifted by (dy, dx)</source>
            <translation>比较所选层对输入与平移 (dy, dx) 后的输入所得的特征图</translation>
        </message>
        <message>
            <source>Compute on a downscaled copy of images over 4 megapixels; export is always full resolution</source>
            <translation>超过 400 万像素的图像在缩小的副本上计算；导出始终为全分辨率</translation>
        </message>
        <message>
            <source>Contrast</source>
            <translation>对比度</translation>
        </message>
        <message>
            <source>Contrast (large maps: brightest 0.35 % saturate)</source>
            <translation>对比度（大图：最亮的 0.35 % 饱和）</translation>
        </message>
        <message>
            <source>Conv 3×3 (per channel)</source>
            <translation>卷积 3×3（逐通道）</translation>
        </message>
        <message>
            <source>Conv k×k multi-channel</source>
            <translation>卷积 k×k 多通道</translation>
        </message>
        <message>
            <source>ConvStudio did not close properly (it crashed or was stopped). These sessions were saved automatically: restore one, discard the ones you no longer need, or close this window to be asked again at the next start.</source>
            <translation>ConvStudio 上次没有正常关闭（崩溃或被强行停止）。以下会话已自动保存：恢复其中一个，丢弃不再需要的，或关闭此窗口，下次启动时再询问。</translation>
        </message>
        <message>
            <source>Copies the image unchanged: a single 1 at the centre, 0 elsewhere; sum 1</source>
            <translation>原样复制图像：中心为 1，其余为 0；和为 1</translation>
        </message>
        <message>
            <source>Copy</source>
            <translation>复制</translation>
        </message>
        <message>
            <source>Copy as NumPy/OpenCV</source>
            <translation>复制为 NumPy/OpenCV 代码</translation>
        </message>
        <message>
            <source>Copy as PyTorch</source>
            <translation>复制为 PyTorch 代码</translation>
        </message>
        <message>
            <source>Copy the pipeline as a standalone NumPy + OpenCV script</source>
            <translation>把流水线复制为独立的 NumPy + OpenCV 脚本</translation>
        </message>
        <message>
            <source>Copy the pipeline as an nn.Sequential with its weights</source>
            <translation>把流水线连同权重复制为 nn.Sequential</translation>
        </message>
        <message>
            <source>Copy the selected cells, or the whole kernel, as tab-separated text</source>
            <translation>把选中的单元格或整个卷积核复制为制表符分隔的文本</translation>
        </message>
        <message>
            <source>Copy, paste, zero the selected cells</source>
            <translation>复制、粘贴、将选中单元格置零</translation>
        </message>
        <message>
            <source>Count padding in the average</source>
            <translation>平均时计入填充</translation>
        </message>
        <message>
            <source>Cross-check</source>
            <translation>交叉核对</translation>
        </message>
        <message>
            <source>Cross-check with OpenCV</source>
            <translation>与 OpenCV 交叉核对</translation>
        </message>
        <message>
            <source>Depth</source>
            <translation>位深</translation>
        </message>
        <message>
            <source>Dilation</source>
            <translation>膨胀</translation>
        </message>
        <message>
            <source>Discard…</source>
            <translation>丢弃…</translation>
        </message>
        <message>
            <source>Diverging (0 = white)</source>
            <translation>发散（0 = 白色）</translation>
        </message>
        <message>
            <source>Divide by the sum so that the weights add up to 1 (GIMP's Normalise)</source>
            <translation>除以总和，使权重之和为 1（即 GIMP 的“归一化”）</translation>
        </message>
        <message>
            <source>Divide by the whole window (True, PyTorch's default) or only by the real pixels in it</source>
            <translation>除以整个窗口的大小（True，PyTorch 的默认值），或只除以窗口内真实像素的个数</translation>
        </message>
        <message>
            <source>Duplicate layer</source>
            <translation>复制层</translation>
        </message>
        <message>
            <source>ERF heat map</source>
            <translation>ERF 热图</translation>
        </message>
        <message>
            <source>Each output pixel is a weighted sum of the input channels at the same pixel</source>
            <translation>每个输出像素是同一位置上各输入通道的加权和</translation>
        </message>
        <message>
            <source>Edge detector [1, -1]</source>
            <translation>边缘检测器 [1, -1]</translation>
        </message>
        <message>
            <source>Edge detector [1, -1] (Tutorial)</source>
            <translation>边缘检测器 [1, -1]（教程）</translation>
        </message>
        <message>
            <source>Edge detector [1, -1] (the tutorial's)</source>
            <translation>边缘检测器 [1, -1]（教程中的）</translation>
        </message>
        <message>
            <source>Edge detector [1; -1]</source>
            <translation>边缘检测器 [1; -1]</translation>
        </message>
        <message>
            <source>Edge detector [1; -1] (Tutorial)</source>
            <translation>边缘检测器 [1; -1]（教程）</translation>
        </message>
        <message>
            <source>Edges</source>
            <translation>边缘</translation>
        </message>
        <message>
            <source>Emboss</source>
            <translation>浮雕</translation>
        </message>
        <message>
            <source>Emboss (Stylise)</source>
            <translation>浮雕（风格化）</translation>
        </message>
        <message>
            <source>Enable / disable layer</source>
            <translation>启用 / 停用层</translation>
        </message>
        <message>
            <source>Keep alpha channel (RGBA as 4 channels)</source>
            <translation>保留透明通道（红绿蓝加透明，作为 4 个通道）</translation>
        </message>
        <message>
            <source>By default an alpha channel is dropped; tick to keep it as channel 4 (the image is read again)</source>
            <translation>默认丢弃透明通道；勾选后将其保留为第 4 个通道（会重新读取图像）</translation>
        </message>
        <message>
            <source>Layer 0 is the input image. Select a layer to edit its parameters, or add one with Layer ▸ Add.</source>
            <translation>第 0 层是输入图像。选择一层以编辑其参数，或用“层 ▸ 添加”添加一层。</translation>
        </message>
        <message>
            <source>Enabled</source>
            <translation>启用</translation>
        </message>
        <message>
            <source>Every pixel spreads a 4×4 kernel over a twice as large output (here the bilinear kernel, one per channel): learnable upsampling</source>
            <translation>每个像素把一个 4×4 卷积核铺到两倍大的输出上（这里是双线性核，每个通道一个）：可学习的上采样</translation>
        </message>
        <message>
            <source>Every value repeated 2×2 (nearest; bilinear in the parameters)</source>
            <translation>每个值重复 2×2（最近邻；参数中可选双线性）</translation>
        </message>
        <message>
            <source>Export</source>
            <translation>导出</translation>
        </message>
        <message>
            <source>Export feature maps</source>
            <translation>导出特征图</translation>
        </message>
        <message>
            <source>Export...</source>
            <translation>导出...</translation>
        </message>
        <message>
            <source>File</source>
            <translation>文件</translation>
        </message>
        <message>
            <source>Files</source>
            <translation>文件</translation>
        </message>
        <message>
            <source>Fill with random weights</source>
            <translation>填入随机权重</translation>
        </message>
        <message>
            <source>First row / column kept (less than the stride)</source>
            <translation>保留的第一行 / 列（小于步幅）</translation>
        </message>
        <message>
            <source>First row / column kept (less than the stride) (columns)</source>
            <translation>保留的第一行 / 列（小于步幅）（列）</translation>
        </message>
        <message>
            <source>First row / column kept (less than the stride) (rows)</source>
            <translation>保留的第一行 / 列（小于步幅）（行）</translation>
        </message>
        <message>
            <source>Fit</source>
            <translation>适应</translation>
        </message>
        <message>
            <source>Fit to window</source>
            <translation>适应窗口</translation>
        </message>
        <message>
            <source>Flip kernel (true convolution)</source>
            <translation>翻转卷积核（真正的卷积）</translation>
        </message>
        <message>
            <source>Flip ↔</source>
            <translation>左右翻转 ↔</translation>
        </message>
        <message>
            <source>Flip ↕</source>
            <translation>上下翻转 ↕</translation>
        </message>
        <message>
            <source>Form</source>
            <translation>形式</translation>
        </message>
        <message>
            <source>Format</source>
            <translation>格式</translation>
        </message>
        <message>
            <source>Gaussian blur</source>
            <translation>高斯模糊</translation>
        </message>
        <message>
            <source>Gaussian blur (Blur)</source>
            <translation>高斯模糊（模糊）</translation>
        </message>
        <message>
            <source>Gradient ramp</source>
            <translation>渐变</translation>
        </message>
        <message>
            <source>Grid</source>
            <translation>网格</translation>
        </message>
        <message>
            <source>Groups</source>
            <translation>分组数</translation>
        </message>
        <message>
            <source>Highlight what the floor drops</source>
            <translation>高亮向下取整丢掉的行 / 列</translation>
        </message>
        <message>
            <source>Highlights edges in every direction (8 at the centre, -1 around); sum 0, so flat areas turn black</source>
            <translation>突出各个方向的边缘（中心 8，四周 -1）；和为 0，平坦区域变黑</translation>
        </message>
        <message>
            <source>Horizontal gradient like Sobel x, with 3-10-3 weights that treat slanted edges more evenly; sum 0</source>
            <translation>与 Sobel x 类似的水平梯度，权重 3-10-3，对斜边缘更均衡；和为 0</translation>
        </message>
        <message>
            <source>Horizontal gradient with equal row weights (Sobel x without the extra middle weight); sum 0</source>
            <translation>各行权重相等的水平梯度（去掉中间加权的 Sobel x）；和为 0</translation>
        </message>
        <message>
            <source>Horizontal gradient: responds to vertical edges; the sum is 0, so flat areas give 0</source>
            <translation>水平梯度：对竖直边缘有响应；和为 0，平坦区域输出 0</translation>
        </message>
        <message>
            <source>Hovering a pixel draws its receptive field on the input; a click pins it</source>
            <translation>悬停在像素上会在输入上画出它的感受野；单击将其固定</translation>
        </message>
        <message>
            <source>How many rows and columns of padding are added around the input</source>
            <translation>在输入四周填充多少行和列</translation>
        </message>
        <message>
            <source>How values map to colours. Contrast: maps larger than 64 x 64 end the scale where the brightest 0.35 % saturate; smaller ones scale to their largest value</source>
            <translation>数值如何映射到颜色。对比度：大于 64 x 64 的特征图让最亮的 0.35 % 饱和，较小的按其最大值缩放</translation>
        </message>
        <message>
            <source>Identity</source>
            <translation>恒等</translation>
        </message>
        <message>
            <source>Identity (Basic)</source>
            <translation>恒等（基础）</translation>
        </message>
        <message>
            <source>Import mo&amp;del…</source>
            <translation>导入模型(&amp;D)…</translation>
        </message>
        <message>
            <source>Import the convolutional trunk of an ONNX model</source>
            <translation>导入 ONNX 模型的卷积主干</translation>
        </message>
        <message>
            <source>Impulse</source>
            <translation>冲激</translation>
        </message>
        <message>
            <source>In ch. / group</source>
            <translation>每组输入通道</translation>
        </message>
        <message>
            <source>Input channel (within the group) whose kernel is shown and edited</source>
            <translation>显示和编辑其卷积核的输入通道（组内编号）</translation>
        </message>
        <message>
            <source>Input channels each output channel sees (Cin / groups)</source>
            <translation>每个输出通道看到的输入通道数（Cin / 分组数）</translation>
        </message>
        <message>
            <source>Insert a copy of the selected layer after it</source>
            <translation>在所选层之后插入它的副本</translation>
        </message>
        <message>
            <source>Inside the dashed box every window stays inside the image, so all the modes agree; outside it the windows reach into the padding and the modes differ.</source>
            <translation>在虚线框内，每个窗口都完全位于图像内部，因此所有模式一致；在框外，窗口会伸入填充区域，各模式的结果不同。</translation>
        </message>
        <message>
            <source>Inspector</source>
            <translation>检查器</translation>
        </message>
        <message>
            <source>Keep every 2nd row and column</source>
            <translation>每隔一行一列保留一个</translation>
        </message>
        <message>
            <source>Keep every n-th row / column</source>
            <translation>每 n 行 / 列保留一个</translation>
        </message>
        <message>
            <source>Keep every n-th row / column (columns)</source>
            <translation>每 n 行 / 列保留一个（列）</translation>
        </message>
        <message>
            <source>Keep every n-th row / column (rows)</source>
            <translation>每 n 行 / 列保留一个（行）</translation>
        </message>
        <message>
            <source>Keep one colour scale across layers</source>
            <translation>各层使用同一色标</translation>
        </message>
        <message>
            <source>Keep one colour scale while switching layers</source>
            <translation>切换层时保持同一色标</translation>
        </message>
        <message>
            <source>Kernel</source>
            <translation>卷积核</translation>
        </message>
        <message>
            <source>Kernel height and width; resizing keeps the values around the centre</source>
            <translation>卷积核的高和宽；改变大小时保留中心附近的值</translation>
        </message>
        <message>
            <source>Kernel height and width; resizing keeps the values around the centre (columns)</source>
            <translation>卷积核的高和宽；改变大小时保留中心附近的值（列）</translation>
        </message>
        <message>
            <source>Kernel height and width; resizing keeps the values around the centre (rows)</source>
            <translation>卷积核的高和宽；改变大小时保留中心附近的值（行）</translation>
        </message>
        <message>
            <source>Kernel size</source>
            <translation>卷积核大小</translation>
        </message>
        <message>
            <source>Keyboard shortcuts</source>
            <translation>键盘快捷键</translation>
        </message>
        <message>
            <source>Lan&amp;guage</source>
            <translation>语言(&amp;G)</translation>
        </message>
        <message>
            <source>Laplacian (4 neighbours)</source>
            <translation>拉普拉斯（4 邻域）</translation>
        </message>
        <message>
            <source>Laplacian (4 neighbours) (Edges)</source>
            <translation>拉普拉斯（4 邻域）（边缘）</translation>
        </message>
        <message>
            <source>Laplacian (8 neighbours)</source>
            <translation>拉普拉斯（8 邻域）</translation>
        </message>
        <message>
            <source>Laplacian (8 neighbours) (Edges)</source>
            <translation>拉普拉斯（8 邻域）（边缘）</translation>
        </message>
        <message>
            <source>Laplacian of Gaussian</source>
            <translation>高斯拉普拉斯</translation>
        </message>
        <message>
            <source>Laplacian of Gaussian (Edges)</source>
            <translation>高斯拉普拉斯（边缘）</translation>
        </message>
        <message>
            <source>Largest value of each 2×2 window, stride 2</source>
            <translation>每个 2×2 窗口的最大值，步幅 2</translation>
        </message>
        <message>
            <source>Layer</source>
            <translation>层</translation>
        </message>
        <message>
            <source>Layer parameters</source>
            <translation>层参数</translation>
        </message>
        <message>
            <source>Layers</source>
            <translation>层</translation>
        </message>
        <message>
            <source>Lea&amp;rn</source>
            <translation>学习(&amp;R)</translation>
        </message>
        <message>
            <source>Leaky ReLU</source>
            <translation>Leaky ReLU</translation>
        </message>
        <message>
            <source>Learn a &amp;kernel...</source>
            <translation>学习卷积核(&amp;K)...</translation>
        </message>
        <message>
            <source>Learn a kernel</source>
            <translation>学习卷积核</translation>
        </message>
        <message>
            <source>Learn the selected conv layer's kernel by gradient descent, watching the loss fall</source>
            <translation>用梯度下降学习所选卷积层的卷积核，观察损失下降</translation>
        </message>
        <message>
            <source>Learning rate</source>
            <translation>学习率</translation>
        </message>
        <message>
            <source>Lesson</source>
            <translation>课程</translation>
        </message>
        <message>
            <source>Load...</source>
            <translation>加载...</translation>
        </message>
        <message>
            <source>Lock levels</source>
            <translation>锁定色阶</translation>
        </message>
        <message>
            <source>Main toolbar</source>
            <translation>主工具栏</translation>
        </message>
        <message>
            <source>Mark on the views the cells of the previous map that no window of the selected layer reaches</source>
            <translation>在视图中标出上一层特征图里所选层任何窗口都覆盖不到的单元</translation>
        </message>
        <message>
            <source>Max pool 2×2</source>
            <translation>最大池化 2×2</translation>
        </message>
        <message>
            <source>Mean of each 2×2 window, stride 2</source>
            <translation>每个 2×2 窗口的平均值，步幅 2</translation>
        </message>
        <message>
            <source>Min to max</source>
            <translation>最小到最大</translation>
        </message>
        <message>
            <source>Mirror the kernel left-right</source>
            <translation>左右镜像卷积核</translation>
        </message>
        <message>
            <source>Mirror the kernel top-bottom</source>
            <translation>上下镜像卷积核</translation>
        </message>
        <message>
            <source>Mode</source>
            <translation>模式</translation>
        </message>
        <message>
            <source>Momentum</source>
            <translation>动量</translation>
        </message>
        <message>
            <source>More</source>
            <translation>更多</translation>
        </message>
        <message>
            <source>Motion blur</source>
            <translation>运动模糊</translation>
        </message>
        <message>
            <source>Motion blur (Blur)</source>
            <translation>运动模糊（模糊）</translation>
        </message>
        <message>
            <source>Move layer down</source>
            <translation>下移层</translation>
        </message>
        <message>
            <source>Move layer up</source>
            <translation>上移层</translation>
        </message>
        <message>
            <source>Move the selected layer one place down</source>
            <translation>把所选层下移一位</translation>
        </message>
        <message>
            <source>Move the selected layer one place up</source>
            <translation>把所选层上移一位</translation>
        </message>
        <message>
            <source>Multiplies the weights, not the bias (GIMP's divisor is 1 / scale) (expressions such as 1/16 work)</source>
            <translation>乘到权重上，不乘偏置（GIMP 的除数即 1 / 缩放）（可输入 1/16 这样的表达式）</translation>
        </message>
        <message>
            <source>Multiply every weight by a factor</source>
            <translation>把每个权重乘以一个系数</translation>
        </message>
        <message>
            <source>Name</source>
            <translation>名称</translation>
        </message>
        <message>
            <source>Negative slope</source>
            <translation>负半轴斜率</translation>
        </message>
        <message>
            <source>Next</source>
            <translation>下一课</translation>
        </message>
        <message>
            <source>Normalise</source>
            <translation>归一化</translation>
        </message>
        <message>
            <source>NumPy array (float32, exact)</source>
            <translation>NumPy 数组（float32，精确）</translation>
        </message>
        <message>
            <source>Off: tick the box to compare the NumPy core with OpenCV, layer by layer.</source>
            <translation>已关闭：勾选此框，逐层比较 NumPy 内核与 OpenCV。</translation>
        </message>
        <message>
            <source>Offset</source>
            <translation>偏移</translation>
        </message>
        <message>
            <source>One 3×3 kernel applied to every channel on its own, as image editors filter</source>
            <translation>一个 3×3 卷积核分别作用于每个通道，就像图像编辑软件的滤镜</translation>
        </message>
        <message>
            <source>One step back</source>
            <translation>后退一步</translation>
        </message>
        <message>
            <source>One step forward</source>
            <translation>前进一步</translation>
        </message>
        <message>
            <source>Open &amp;pipeline…</source>
            <translation>打开流水线(&amp;P)…</translation>
        </message>
        <message>
            <source>Open a pipeline (.json)</source>
            <translation>打开流水线（.json）</translation>
        </message>
        <message>
            <source>Open an image (PNG, JPEG, TIFF, BMP, WebP, .npy)</source>
            <translation>打开图像（PNG、JPEG、TIFF、BMP、WebP、.npy）</translation>
        </message>
        <message>
            <source>Open image</source>
            <translation>打开图像</translation>
        </message>
        <message>
            <source>Open pipeline</source>
            <translation>打开流水线</translation>
        </message>
        <message>
            <source>Open the next lesson</source>
            <translation>打开下一课</translation>
        </message>
        <message>
            <source>Open the previous lesson</source>
            <translation>打开上一课</translation>
        </message>
        <message>
            <source>OpenCV reference</source>
            <translation>OpenCV 参考结果</translation>
        </message>
        <message>
            <source>Out channels</source>
            <translation>输出通道</translation>
        </message>
        <message>
            <source>Outline</source>
            <translation>轮廓</translation>
        </message>
        <message>
            <source>Outline (Edges)</source>
            <translation>轮廓（边缘）</translation>
        </message>
        <message>
            <source>Output channel whose kernel is shown and edited</source>
            <translation>显示和编辑其卷积核的输出通道</translation>
        </message>
        <message>
            <source>Output channels (Cout): one feature map each</source>
            <translation>输出通道数（Cout）：每个通道一张特征图</translation>
        </message>
        <message>
            <source>Output padding</source>
            <translation>输出填充</translation>
        </message>
        <message>
            <source>Output pixel i of a layer sees input rows start + i·jump … start + i·jump + size − 1 (likewise columns). A negative start means the first windows reach into padding.</source>
            <translation>某层的输出像素 i 看到输入的第 start + i·jump … start + i·jump + size − 1 行（列同理）。start 为负表示最前面的窗口伸进了填充区域。</translation>
        </message>
        <message>
            <source>Output pixels per input pixel</source>
            <translation>每个输入像素对应的输出像素数</translation>
        </message>
        <message>
            <source>Output pixels per input pixel (columns)</source>
            <translation>每个输入像素对应的输出像素数（列）</translation>
        </message>
        <message>
            <source>Output pixels per input pixel (rows)</source>
            <translation>每个输入像素对应的输出像素数（行）</translation>
        </message>
        <message>
            <source>Output pixels per input pixel step</source>
            <translation>输入每移动一个像素，输出移动的像素数</translation>
        </message>
        <message>
            <source>Output pixels per input pixel step (columns)</source>
            <translation>输入每移动一个像素，输出移动的像素数（列）</translation>
        </message>
        <message>
            <source>Output pixels per input pixel step (rows)</source>
            <translation>输入每移动一个像素，输出移动的像素数（行）</translation>
        </message>
        <message>
            <source>Output values per second</source>
            <translation>每秒输出的值数</translation>
        </message>
        <message>
            <source>PNG image (8 or 16 bit)</source>
            <translation>PNG 图像（8 或 16 位）</translation>
        </message>
        <message>
            <source>Pad</source>
            <translation>填充</translation>
        </message>
        <message>
            <source>Padding</source>
            <translation>填充</translation>
        </message>
        <message>
            <source>Padding mode</source>
            <translation>填充模式</translation>
        </message>
        <message>
            <source>Paste</source>
            <translation>粘贴</translation>
        </message>
        <message>
            <source>Paste image from clipboard</source>
            <translation>从剪贴板粘贴图像</translation>
        </message>
        <message>
            <source>Paste tab-separated numbers: a whole kernel, or a smaller block at the current cell</source>
            <translation>粘贴制表符分隔的数字：整个卷积核，或从当前单元格开始的一小块</translation>
        </message>
        <message>
            <source>Plain average of the neighbourhood, every weight equal; sum 1, so overall brightness is kept</source>
            <translation>邻域的简单平均，每个权重相等；和为 1，整体亮度不变</translation>
        </message>
        <message>
            <source>Play</source>
            <translation>播放</translation>
        </message>
        <message>
            <source>Play the selected conv or pooling layer's window, step by step</source>
            <translation>一步一步播放所选卷积层或池化层的滑动窗口</translation>
        </message>
        <message>
            <source>Pooling window height and width</source>
            <translation>池化窗口的高和宽</translation>
        </message>
        <message>
            <source>Pooling window height and width (columns)</source>
            <translation>池化窗口的高和宽（列）</translation>
        </message>
        <message>
            <source>Pooling window height and width (rows)</source>
            <translation>池化窗口的高和宽（行）</translation>
        </message>
        <message>
            <source>Presets</source>
            <translation>预设</translation>
        </message>
        <message>
            <source>Previous</source>
            <translation>上一课</translation>
        </message>
        <message>
            <source>Prewitt x</source>
            <translation>Prewitt x</translation>
        </message>
        <message>
            <source>Prewitt x (Edges)</source>
            <translation>Prewitt x（边缘）</translation>
        </message>
        <message>
            <source>Prewitt y</source>
            <translation>Prewitt y</translation>
        </message>
        <message>
            <source>Prewitt y (Edges)</source>
            <translation>Prewitt y（边缘）</translation>
        </message>
        <message>
            <source>Pushes each pixel away from its 4 neighbours (5 at the centre, -1 around); sum 1, so flat areas are unchanged</source>
            <translation>让每个像素远离它的 4 个邻居（中心 5，四周 -1）；和为 1，平坦区域不变</translation>
        </message>
        <message>
            <source>RGB to gray (1x1)</source>
            <translation>RGB 转灰度（1x1）</translation>
        </message>
        <message>
            <source>Random</source>
            <translation>随机</translation>
        </message>
        <message>
            <source>Random noise (seed 0)</source>
            <translation>随机噪声（种子 0）</translation>
        </message>
        <message>
            <source>ReLU</source>
            <translation>ReLU</translation>
        </message>
        <message>
            <source>Recent &amp;images</source>
            <translation>最近的图像(&amp;I)</translation>
        </message>
        <message>
            <source>Recent pipe&amp;lines</source>
            <translation>最近的流水线(&amp;L)</translation>
        </message>
        <message>
            <source>Receptive fields</source>
            <translation>感受野</translation>
        </message>
        <message>
            <source>Recover autosaved sessions</source>
            <translation>恢复自动保存的会话</translation>
        </message>
        <message>
            <source>Redo</source>
            <translation>重做</translation>
        </message>
        <message>
            <source>Relief look: lighter where brightness rises toward the bottom-right, darker the other way; sum 1 keeps flat areas</source>
            <translation>浮雕效果：亮度朝右下增加处变亮，反之变暗；和为 1，平坦区域不变</translation>
        </message>
        <message>
            <source>Remove every pinned box (Esc in the views)</source>
            <translation>移除所有固定的框（在视图中按 Esc）</translation>
        </message>
        <message>
            <source>Remove every pinned receptive-field box</source>
            <translation>移除所有固定的感受野框</translation>
        </message>
        <message>
            <source>Remove layer</source>
            <translation>删除层</translation>
        </message>
        <message>
            <source>Remove the selected layer (Delete)</source>
            <translation>删除所选层（Delete）</translation>
        </message>
        <message>
            <source>Replace the kernel by a classic one (blur, sharpen, edges, ...)</source>
            <translation>换成一个经典卷积核（模糊、锐化、边缘……）</translation>
        </message>
        <message>
            <source>Reset &amp;layout</source>
            <translation>重置布局(&amp;L)</translation>
        </message>
        <message>
            <source>Restore</source>
            <translation>恢复</translation>
        </message>
        <message>
            <source>Rotate 90°</source>
            <translation>旋转 90°</translation>
        </message>
        <message>
            <source>Rotate every kernel by 180°: convolution instead of cross-correlation</source>
            <translation>把每个卷积核旋转 180°：做卷积而不是互相关</translation>
        </message>
        <message>
            <source>Rotate the kernel by 90 degrees (square kernels)</source>
            <translation>把卷积核旋转 90 度（方形卷积核）</translation>
        </message>
        <message>
            <source>Rows / columns added at the bottom / right (less than the stride or dilation)</source>
            <translation>在底部 / 右侧添加的行 / 列（小于步幅或膨胀）</translation>
        </message>
        <message>
            <source>Rows / columns added at the bottom / right (less than the stride or dilation) (columns)</source>
            <translation>在底部 / 右侧添加的行 / 列（小于步幅或膨胀）（列）</translation>
        </message>
        <message>
            <source>Rows / columns added at the bottom / right (less than the stride or dilation) (rows)</source>
            <translation>在底部 / 右侧添加的行 / 列（小于步幅或膨胀）（行）</translation>
        </message>
        <message>
            <source>Rows / columns cropped from each side</source>
            <translation>每边裁掉的行 / 列</translation>
        </message>
        <message>
            <source>Rows / columns cropped from each side (columns)</source>
            <translation>每边裁掉的行 / 列（列）</translation>
        </message>
        <message>
            <source>Rows / columns cropped from each side (rows)</source>
            <translation>每边裁掉的行 / 列（行）</translation>
        </message>
        <message>
            <source>Rows down (negative: up)</source>
            <translation>向下的行数（负数：向上）</translation>
        </message>
        <message>
            <source>Sa&amp;mples</source>
            <translation>示例(&amp;M)</translation>
        </message>
        <message>
            <source>Same value for rows and columns</source>
            <translation>行和列使用相同的值</translation>
        </message>
        <message>
            <source>Samples</source>
            <translation>示例</translation>
        </message>
        <message>
            <source>Save pipeline</source>
            <translation>保存流水线</translation>
        </message>
        <message>
            <source>Save pipeline &amp;as…</source>
            <translation>流水线另存为(&amp;A)…</translation>
        </message>
        <message>
            <source>Save the pipeline to a new file</source>
            <translation>把流水线保存到新文件</translation>
        </message>
        <message>
            <source>Save the pipeline to its file</source>
            <translation>把流水线保存到它的文件</translation>
        </message>
        <message>
            <source>Save the selected layer's maps (full resolution)</source>
            <translation>保存所选层的特征图（全分辨率）</translation>
        </message>
        <message>
            <source>Scale</source>
            <translation>缩放</translation>
        </message>
        <message>
            <source>Scale…</source>
            <translation>缩放…</translation>
        </message>
        <message>
            <source>Scharr x</source>
            <translation>Scharr x</translation>
        </message>
        <message>
            <source>Scharr x (Edges)</source>
            <translation>Scharr x（边缘）</translation>
        </message>
        <message>
            <source>Scharr y</source>
            <translation>Scharr y</translation>
        </message>
        <message>
            <source>Scharr y (Edges)</source>
            <translation>Scharr y（边缘）</translation>
        </message>
        <message>
            <source>Scrub through the steps</source>
            <translation>拖动浏览各步</translation>
        </message>
        <message>
            <source>Second derivative using all 8 neighbours, more even in every direction; sum 0, flat areas give 0</source>
            <translation>用全部 8 个邻居求二阶导数，各方向更均匀；和为 0，平坦区域输出 0</translation>
        </message>
        <message>
            <source>Second derivative: the 4 neighbours minus 4 times the centre; flat areas and even ramps give 0</source>
            <translation>二阶导数：4 个邻居之和减去中心的 4 倍；平坦区域和均匀渐变输出 0</translation>
        </message>
        <message>
            <source>Seeing why</source>
            <translation>看清原理</translation>
        </message>
        <message>
            <source>Seeing why &amp;pages</source>
            <translation>“看清原理”页面(&amp;P)</translation>
        </message>
        <message>
            <source>Select a conv layer to edit its kernel.</source>
            <translation>选择一个卷积层来编辑它的卷积核。</translation>
        </message>
        <message>
            <source>Select a conv or pooling layer.</source>
            <translation>请选择卷积层或池化层。</translation>
        </message>
        <message>
            <source>Select a layer to compare its maps.</source>
            <translation>选择一层来比较它的特征图。</translation>
        </message>
        <message>
            <source>Select a row to see that layer's OpenCV reference.</source>
            <translation>选择一行，查看该层的 OpenCV 参考结果。</translation>
        </message>
        <message>
            <source>Select next layer</source>
            <translation>选择下一层</translation>
        </message>
        <message>
            <source>Select previous layer</source>
            <translation>选择上一层</translation>
        </message>
        <message>
            <source>Set every weight to 0 (the identity kernel is a preset)</source>
            <translation>把所有权重设为 0（恒等卷积核在预设中）</translation>
        </message>
        <message>
            <source>Set the input channels per group to what reaches this layer</source>
            <translation>把每组输入通道数设为到达这一层的通道数</translation>
        </message>
        <message>
            <source>Set the selected cells (or the current cell) to 0</source>
            <translation>把选中的单元格（或当前单元格）设为 0</translation>
        </message>
        <message>
            <source>Shapes &amp;&amp; formula</source>
            <translation>形状与公式</translation>
        </message>
        <message>
            <source>Sharpen</source>
            <translation>锐化</translation>
        </message>
        <message>
            <source>Sharpen (Sharpen)</source>
            <translation>锐化（锐化）</translation>
        </message>
        <message>
            <source>Shift the input</source>
            <translation>平移输入</translation>
        </message>
        <message>
            <source>Show 3 or 4 channels as one RGB image</source>
            <translation>把 3 或 4 个通道显示为一幅 RGB 图像</translation>
        </message>
        <message>
            <source>Show boxes</source>
            <translation>显示框</translation>
        </message>
        <message>
            <source>Show combined kernel</source>
            <translation>显示合成卷积核</translation>
        </message>
        <message>
            <source>Show the &amp;Lesson panel</source>
            <translation>显示课程面板(&amp;L)</translation>
        </message>
        <message>
            <source>Show the effective receptive field of the clicked pixel (the exact gradient of its value with respect to every input pixel) as a heat map over the input</source>
            <translation>以热图形式在输入上显示所单击像素的有效感受野（其值对每个输入像素的精确梯度）</translation>
        </message>
        <message>
            <source>Show the explanation panel (and the list of lessons)</source>
            <translation>显示讲解面板（及课程列表）</translation>
        </message>
        <message>
            <source>Show the selected conv layer with zeros / reflect / replicate / circular padding side by side</source>
            <translation>并排显示所选卷积层在 zeros / reflect / replicate / circular 填充下的结果</translation>
        </message>
        <message>
            <source>Show the whole image</source>
            <translation>显示整幅图像</translation>
        </message>
        <message>
            <source>Sigmoid</source>
            <translation>Sigmoid</translation>
        </message>
        <message>
            <source>Sliding &amp;window player</source>
            <translation>滑动窗口播放器(&amp;W)</translation>
        </message>
        <message>
            <source>Sliding window</source>
            <translation>滑动窗口</translation>
        </message>
        <message>
            <source>Slope for x &lt; 0: out = slope · x (expressions such as 1/16 work)</source>
            <translation>x &lt; 0 时的斜率：输出 = 斜率 · x（可输入 1/16 这样的表达式）</translation>
        </message>
        <message>
            <source>Smooth blur: a weighted average where nearer pixels count more (bell curve); sum 1 keeps brightness</source>
            <translation>平滑模糊：越近的像素权重越大的加权平均（钟形曲线）；和为 1，保持亮度</translation>
        </message>
        <message>
            <source>Sobel x</source>
            <translation>Sobel x</translation>
        </message>
        <message>
            <source>Sobel x (Edges)</source>
            <translation>Sobel x（边缘）</translation>
        </message>
        <message>
            <source>Sobel y</source>
            <translation>Sobel y</translation>
        </message>
        <message>
            <source>Sobel y (Edges)</source>
            <translation>Sobel y（边缘）</translation>
        </message>
        <message>
            <source>Spacing between kernel taps</source>
            <translation>卷积核抽头之间的间距</translation>
        </message>
        <message>
            <source>Spacing between kernel taps (1 = dense)</source>
            <translation>卷积核抽头之间的间距（1 = 紧密）</translation>
        </message>
        <message>
            <source>Spacing between kernel taps (1 = dense) (columns)</source>
            <translation>卷积核抽头之间的间距（1 = 紧密）（列）</translation>
        </message>
        <message>
            <source>Spacing between kernel taps (1 = dense) (rows)</source>
            <translation>卷积核抽头之间的间距（1 = 紧密）（行）</translation>
        </message>
        <message>
            <source>Spacing between kernel taps (columns)</source>
            <translation>卷积核抽头之间的间距（列）</translation>
        </message>
        <message>
            <source>Spacing between kernel taps (rows)</source>
            <translation>卷积核抽头之间的间距（行）</translation>
        </message>
        <message>
            <source>Spacing between window taps</source>
            <translation>窗口抽头之间的间距</translation>
        </message>
        <message>
            <source>Spacing between window taps (columns)</source>
            <translation>窗口抽头之间的间距（列）</translation>
        </message>
        <message>
            <source>Spacing between window taps (rows)</source>
            <translation>窗口抽头之间的间距（行）</translation>
        </message>
        <message>
            <source>Split inputs and outputs into this many independent groups (groups = channels: depthwise)</source>
            <translation>把输入和输出分成这么多个互相独立的组（分组数 = 通道数：逐深度卷积）</translation>
        </message>
        <message>
            <source>Start</source>
            <translation>开始</translation>
        </message>
        <message>
            <source>Start with an empty pipeline</source>
            <translation>从空流水线开始</translation>
        </message>
        <message>
            <source>Step</source>
            <translation>单步</translation>
        </message>
        <message>
            <source>Step between windows</source>
            <translation>窗口之间的步长</translation>
        </message>
        <message>
            <source>Step between windows (columns)</source>
            <translation>窗口之间的步长（列）</translation>
        </message>
        <message>
            <source>Step between windows (rows)</source>
            <translation>窗口之间的步长（行）</translation>
        </message>
        <message>
            <source>Step edge</source>
            <translation>阶跃边缘</translation>
        </message>
        <message>
            <source>Steps</source>
            <translation>步数</translation>
        </message>
        <message>
            <source>Steps one Start takes (Pause stops earlier)</source>
            <translation>每次“开始”运行的步数（“暂停”可提前停止）</translation>
        </message>
        <message>
            <source>Stride</source>
            <translation>步幅</translation>
        </message>
        <message>
            <source>Stride (subsample)</source>
            <translation>步幅（下采样）</translation>
        </message>
        <message>
            <source>Stride = window</source>
            <translation>步幅 = 窗口</translation>
        </message>
        <message>
            <source>Stylise</source>
            <translation>风格化</translation>
        </message>
        <message>
            <source>Swap rows and columns (square kernels)</source>
            <translation>交换行和列（方形卷积核）</translation>
        </message>
        <message>
            <source>Switch the selected layer on or off</source>
            <translation>启用或停用所选层</translation>
        </message>
        <message>
            <source>TIFF (float32 values as they are)</source>
            <translation>TIFF（float32 原值）</translation>
        </message>
        <message>
            <source>Tanh</source>
            <translation>Tanh</translation>
        </message>
        <message>
            <source>Target</source>
            <translation>目标</translation>
        </message>
        <message>
            <source>The 2x1 version: upper pixel minus lower pixel, so only horizontal edges give non-zero output</source>
            <translation>2x1 版本：上方像素减下方像素，因此只有水平边缘给出非零输出</translation>
        </message>
        <message>
            <source>The constant padded with (mode constant) (expressions such as 1/16 work)</source>
            <translation>用于填充的常数（constant 模式）（可输入 1/16 这样的表达式）</translation>
        </message>
        <message>
            <source>The next lesson</source>
            <translation>下一课</translation>
        </message>
        <message>
            <source>The output to match: what the pipeline gives with this kernel in the layer, or a file of the last output's shape</source>
            <translation>要拟合的输出：用这个卷积核时流水线给出的结果，或与最后输出形状相同的文件</translation>
        </message>
        <message>
            <source>The previous lesson</source>
            <translation>上一课</translation>
        </message>
        <message>
            <source>The single kernel equivalent to the linear layers up to the selected one</source>
            <translation>与到所选层为止的各线性层等价的单个卷积核</translation>
        </message>
        <message>
            <source>The tutorial's 1x2 kernel: left pixel minus right pixel, so only vertical edges give non-zero output</source>
            <translation>教程中的 1x2 卷积核：左像素减右像素，因此只有竖直边缘给出非零输出</translation>
        </message>
        <message>
            <source>The usual pooling: windows side by side, no overlap</source>
            <translation>常见的池化：窗口并排，互不重叠</translation>
        </message>
        <message>
            <source>Top-left corner</source>
            <translation>左上角</translation>
        </message>
        <message>
            <source>Transpose</source>
            <translation>转置</translation>
        </message>
        <message>
            <source>Transposed conv 4×4, stride 2</source>
            <translation>转置卷积 4×4，步幅 2</translation>
        </message>
        <message>
            <source>Tutorial</source>
            <translation>教程</translation>
        </message>
        <message>
            <source>Tutorial 3 x 3 (0 ... 8)</source>
            <translation>教程 3 x 3（0 ... 8）</translation>
        </message>
        <message>
            <source>Tutorial edge (6 x 8)</source>
            <translation>教程边缘图（6 x 8）</translation>
        </message>
        <message>
            <source>Type in a cell to edit it (1/16 works). Right-click for every action; Ctrl+C / Ctrl+V copy and paste.</source>
            <translation>在单元格中输入即可编辑（可输入 1/16）。右键查看全部操作；Ctrl+C / Ctrl+V 复制和粘贴。</translation>
        </message>
        <message>
            <source>Undo</source>
            <translation>撤销</translation>
        </message>
        <message>
            <source>Undo run</source>
            <translation>撤销本次运行</translation>
        </message>
        <message>
            <source>Unsharp mask</source>
            <translation>反锐化掩模</translation>
        </message>
        <message>
            <source>Unsharp mask (Sharpen)</source>
            <translation>反锐化掩模（锐化）</translation>
        </message>
        <message>
            <source>Upsample ×2</source>
            <translation>上采样 ×2</translation>
        </message>
        <message>
            <source>Use the image on the clipboard as the input</source>
            <translation>把剪贴板上的图像作为输入</translation>
        </message>
        <message>
            <source>Value</source>
            <translation>值</translation>
        </message>
        <message>
            <source>Vertical gradient like Sobel y, with 3-10-3 weights that treat slanted edges more evenly; sum 0</source>
            <translation>与 Sobel y 类似的竖直梯度，权重 3-10-3，对斜边缘更均衡；和为 0</translation>
        </message>
        <message>
            <source>Vertical gradient with equal column weights (Sobel y without the extra middle weight); sum 0</source>
            <translation>各列权重相等的竖直梯度（去掉中间加权的 Sobel y）；和为 0</translation>
        </message>
        <message>
            <source>Vertical gradient: responds to horizontal edges; the sum is 0, so flat areas give 0</source>
            <translation>竖直梯度：对水平边缘有响应；和为 0，平坦区域输出 0</translation>
        </message>
        <message>
            <source>Weight and bias come from the pipeline file ([in][out/groups][kh][kw]).</source>
            <translation>权重和偏置来自流水线文件（[Cin][Cout/groups][kh][kw]）。</translation>
        </message>
        <message>
            <source>What fills the pixels the shift uncovers</source>
            <translation>平移后露出的像素用什么填充</translation>
        </message>
        <message>
            <source>What the padding is filled with</source>
            <translation>填充区域用什么值</translation>
        </message>
        <message>
            <source>Whole map</source>
            <translation>整张特征图</translation>
        </message>
        <message>
            <source>Window</source>
            <translation>窗口</translation>
        </message>
        <message>
            <source>Zero selected cells</source>
            <translation>选中单元格置零</translation>
        </message>
        <message>
            <source>Zone plate (rings)</source>
            <translation>波带片（圆环）</translation>
        </message>
        <message>
            <source>Zoom &amp;in</source>
            <translation>放大(&amp;I)</translation>
        </message>
        <message>
            <source>Zoom &amp;out</source>
            <translation>缩小(&amp;O)</translation>
        </message>
        <message>
            <source>Zoom in (all views)</source>
            <translation>放大（所有视图）</translation>
        </message>
        <message>
            <source>Zoom out (all views)</source>
            <translation>缩小（所有视图）</translation>
        </message>
        <message>
            <source>Zoom to show the whole map</source>
            <translation>缩放以显示整张特征图</translation>
        </message>
        <message>
            <source>Zoom to the top-left corner, where the modes differ</source>
            <translation>放大到左上角，那里各模式结果不同</translation>
        </message>
        <message>
            <source>abs has no parameters: it acts on every value on its own.</source>
            <translation>abs 没有参数：它对每个值单独作用。</translation>
        </message>
        <message>
            <source>all channels</source>
            <translation>所有通道</translation>
        </message>
        <message>
            <source>an image: one gray image</source>
            <translation>图像：一幅灰度图</translation>
        </message>
        <message>
            <source>auto</source>
            <translation>自动</translation>
        </message>
        <message>
            <source>auto: an image as one file, feature maps one file each</source>
            <translation>自动：图像写成一个文件，特征图每张一个文件</translation>
        </message>
        <message>
            <source>bottom</source>
            <translation>下</translation>
        </message>
        <message>
            <source>channel 0</source>
            <translation>通道 0</translation>
        </message>
        <message>
            <source>circular (wrap around)</source>
            <translation>circular（环绕）</translation>
        </message>
        <message>
            <source>circular (wrapped around)</source>
            <translation>circular（环绕）</translation>
        </message>
        <message>
            <source>clip</source>
            <translation>截断</translation>
        </message>
        <message>
            <source>computing…</source>
            <translation>计算中…</translation>
        </message>
        <message>
            <source>fill</source>
            <translation>填充值</translation>
        </message>
        <message>
            <source>full weight (CNN layer)</source>
            <translation>完整权重（CNN 层）</translation>
        </message>
        <message>
            <source>input channel</source>
            <translation>输入通道</translation>
        </message>
        <message>
            <source>left</source>
            <translation>左</translation>
        </message>
        <message>
            <source>max(x, 0)</source>
            <translation>max(x, 0)</translation>
        </message>
        <message>
            <source>minmax</source>
            <translation>最小-最大</translation>
        </message>
        <message>
            <source>nearest: repeat each value; bilinear: interpolate (PyTorch's align_corners=False)</source>
            <translation>nearest：重复每个值；bilinear：插值（PyTorch 的 align_corners=False）</translation>
        </message>
        <message>
            <source>no file</source>
            <translation>无文件</translation>
        </message>
        <message>
            <source>one gray file per channel</source>
            <translation>每个通道一个灰度文件</translation>
        </message>
        <message>
            <source>one number, or one per output channel</source>
            <translation>一个数，或每个输出通道一个</translation>
        </message>
        <message>
            <source>optional name</source>
            <translation>可选名称</translation>
        </message>
        <message>
            <source>output channel</source>
            <translation>输出通道</translation>
        </message>
        <message>
            <source>padding on each side (columns)</source>
            <translation>每侧的填充（列）</translation>
        </message>
        <message>
            <source>padding on each side (rows)</source>
            <translation>每侧的填充（行）</translation>
        </message>
        <message>
            <source>per channel kernel (image filter)</source>
            <translation>逐通道卷积核（图像滤镜）</translation>
        </message>
        <message>
            <source>per side</source>
            <translation>每侧分别设置</translation>
        </message>
        <message>
            <source>reflect (mirror, edge not repeated)</source>
            <translation>reflect（镜像，不重复边缘）</translation>
        </message>
        <message>
            <source>relu has no parameters: it acts on every value on its own.</source>
            <translation>relu 没有参数：它对每个值单独作用。</translation>
        </message>
        <message>
            <source>replicate (edge repeated)</source>
            <translation>replicate（重复边缘）</translation>
        </message>
        <message>
            <source>right</source>
            <translation>右</translation>
        </message>
        <message>
            <source>same (output = ceil(input / stride); up to 1 more in ceil mode)</source>
            <translation>same（输出 = ceil(输入 / 步幅)；向上取整模式下最多再多 1）</translation>
        </message>
        <message>
            <source>sigmoid has no parameters: it acts on every value on its own.</source>
            <translation>sigmoid 没有参数：它对每个值单独作用。</translation>
        </message>
        <message>
            <source>signed</source>
            <translation>有符号</translation>
        </message>
        <message>
            <source>speed</source>
            <translation>速度</translation>
        </message>
        <message>
            <source>symmetric (mirror, edge repeated)</source>
            <translation>symmetric（镜像，重复边缘）</translation>
        </message>
        <message>
            <source>tanh has no parameters: it acts on every value on its own.</source>
            <translation>tanh 没有参数：它对每个值单独作用。</translation>
        </message>
        <message>
            <source>tanh(x)</source>
            <translation>tanh(x)</translation>
        </message>
        <message>
            <source>the cross-correlation example's input</source>
            <translation>互相关示例的输入</translation>
        </message>
        <message>
            <source>top</source>
            <translation>上</translation>
        </message>
        <message>
            <source>valid (none)</source>
            <translation>valid（不填充）</translation>
        </message>
        <message>
            <source>white with a black band in columns 2-5, as in the tutorial</source>
            <translation>白底，第 2-5 列为黑色条带，与教程相同</translation>
        </message>
        <message>
            <source>x if x &gt; 0 else 0.01·x</source>
            <translation>x &gt; 0 时为 x，否则为 0.01·x</translation>
        </message>
        <message>
            <source>zero-filled</source>
            <translation>零填充</translation>
        </message>
        <message>
            <source>|core − OpenCV|</source>
            <translation>|内核 − OpenCV|</translation>
        </message>
        <message>
            <source>   (computing…)</source>
            <translation>   （计算中…）</translation>
        </message>
        <message>
            <source> (On the preview copy, 1/{f} of the image.)</source>
            <translation>（在预览副本上，为图像的 1/{f}。）</translation>
        </message>
        <message>
            <source> (anchor)</source>
            <translation>（锚点）</translation>
        </message>
        <message>
            <source> (disabled)</source>
            <translation>（已禁用）</translation>
        </message>
        <message>
            <source> (preview pixels)</source>
            <translation>（预览像素）</translation>
        </message>
        <message>
            <source>0  Input  {shape}</source>
            <translation>0  输入  {shape}</translation>
        </message>
        <message>
            <source>0  input</source>
            <translation>0  输入</translation>
        </message>
        <message>
            <source>0  input  {name}</source>
            <translation>0  输入  {name}</translation>
        </message>
        <message>
            <source>0  input: every channel</source>
            <translation>0  输入：所有通道</translation>
        </message>
        <message>
            <source>; {rows} and {cols} of it in padding</source>
            <translation>；其中 {rows}和 {cols}落在填充中</translation>
        </message>
        <message>
            <source>&lt;b&gt;separable&lt;/b&gt; (rank 1): column {v} × row {h} — two 1-D passes of {kh} + {kw} instead of {n} multiplications</source>
            <translation>&lt;b&gt;可分离&lt;/b&gt;（秩 1）：列 {v} × 行 {h}——两次一维运算，共 {kh} + {kw} 次乘法，而不是 {n} 次</translation>
        </message>
        <message>
            <source>&lt;b&gt;{layers}&lt;/b&gt; ({what}) act as &lt;b&gt;one conv layer&lt;/b&gt;: &lt;b&gt;{rh} × {rw}&lt;/b&gt; kernel, stride &lt;b&gt;{sh} × {sw}&lt;/b&gt;, first window starting at row {r0}, col {c0}; </source>
            <translation>&lt;b&gt;{layers}&lt;/b&gt;（{what}）相当于&lt;b&gt;一个卷积层&lt;/b&gt;：&lt;b&gt;{rh} × {rw}&lt;/b&gt; 卷积核，步幅 &lt;b&gt;{sh} × {sw}&lt;/b&gt;，第一个窗口从第 {r0} 行、第 {c0} 列开始；</translation>
        </message>
        <message>
            <source>&lt;b&gt;{n}&lt;/b&gt; layer, &lt;b&gt;{params}&lt;/b&gt; parameters</source>
            <translation>&lt;b&gt;{n}&lt;/b&gt; 层，&lt;b&gt;{params}&lt;/b&gt; 个参数</translation>
        </message>
        <message>
            <source>&lt;b&gt;{n}&lt;/b&gt; layers, &lt;b&gt;{params}&lt;/b&gt; parameters</source>
            <translation>&lt;b&gt;{n}&lt;/b&gt; 层，&lt;b&gt;{params}&lt;/b&gt; 个参数</translation>
        </message>
        <message>
            <source>A 1 x 1 kernel sees one pixel, so each output value is a weighted sum of that pixel's input channels plus a bias: the layer is a fully connected layer applied at every pixel, with a c_o x c_i weight matrix and c_o biases. Here: 3 inputs (R, G, B), 2 outputs: luma (0.299 R + 0.587 G + 0.114 B) and a red-minus-blue opponent channel lifted by a bias of 0.5, so 2 × 3 + 2 = 8 learnable parameters (weights and biases). The kernel size, padding, stride and number of output channels are hyperparameters: chosen, not learned.</source>
            <translation>1 x 1 卷积核只看一个像素，因此每个输出值都是该像素各输入通道的加权和再加上偏置：这一层相当于在每个像素位置上应用的全连接层，其权重矩阵为 c_o x c_i，偏置有 c_o 个。这里有 3 个输入（R、G、B）和 2 个输出：亮度（0.299 R + 0.587 G + 0.114 B），以及一个“红减蓝”的对立通道，并用 0.5 的偏置抬高，所以共有 2 × 3 + 2 = 8 个可学习参数（权重和偏置）。卷积核大小、填充、步幅和输出通道数是超参数：它们是人为选定的，而不是学习得到的。</translation>
        </message>
        <message>
            <source>A 2 x 2 window slides like a kernel but has no weights: max pooling keeps the largest value of each window. On 0..8 it gives [[4, 5], [7, 8]]. The stride defaults to the window size; here it is set to 1 to match the tutorial's figure. Average pooling takes the mean of the same windows instead: &lt;a href='lesson:pooling-average'&gt;lesson 16b&lt;/a&gt;.</source>
            <translation>2 x 2 的窗口像卷积核一样滑动，但没有权重：最大池化保留每个窗口中的最大值。在 0..8 上得到 [[4, 5], [7, 8]]。步幅默认等于窗口大小；这里设为 1，以与教程中的图一致。平均池化则对同样的窗口取平均值：见&lt;a href='lesson:pooling-average'&gt;第 16b 课&lt;/a&gt;。</translation>
        </message>
        <message>
            <source>A 2 x 3 max window with padding (0, 1) and stride (2, 3) on 0..15 gives the same as lesson 17b: [[5, 7], [13, 15]].</source>
            <translation>在 0..15 上使用 2 x 3 的最大池化窗口，填充为 (0, 1)，步幅为 (2, 3)，结果与第 17b 课相同：[[5, 7], [13, 15]]。</translation>
        </message>
        <message>
            <source>A 6 x 8 image, white at the sides and black in the middle. The 1 x 2 kernel [1, -1] subtracts each pixel's right neighbour: flat areas give 0, the white-to-black edge gives 1 and the black-to-white edge gives -1. It finds only vertical edges; transpose the kernel to find horizontal ones.</source>
            <translation>一张 6 x 8 的图像，两侧为白色，中间为黑色。1 x 2 的卷积核 [1, -1] 用每个像素减去它右侧的邻居：平坦区域得到 0，从白到黑的边缘得到 1，从黑到白的边缘得到 -1。它只能检测垂直边缘；将卷积核转置即可检测水平边缘。</translation>
        </message>
        <message>
            <source>A fully connected hidden value [H]_{i,j} has weights [V]_{i,j,a,b} of its own for every position (i, j). Translation invariance asks that an object gets the same response wherever it is, so the weights may not depend on (i, j): V_{i,j,a,b} becomes V_{a,b}, and H_{i,j} = u + Σ_a Σ_b V_{a,b} X_{i+a,j+b} is a convolution. Try it: Learn ▸ Shift the input... moves the image by (dy, dx); the map of the shifted image, moved back, equals the original map exactly away from the border (the difference is 0 there).</source>
            <translation>在全连接层中，隐藏值 [H]_{i,j} 在每个位置 (i, j) 都有自己的一组权重 [V]_{i,j,a,b}。平移不变性要求无论物体出现在哪里，都得到相同的响应，因此权重不能依赖于 (i, j)：V_{i,j,a,b} 变为 V_{a,b}，而 H_{i,j} = u + Σ_a Σ_b V_{a,b} X_{i+a,j+b} 就是一个卷积。试一试：“学习 ▸ 平移输入...”将图像平移 (dy, dx)；平移后图像的特征图再移回原位，在远离边界处与原特征图完全相同（那里的差为 0）。</translation>
        </message>
        <message>
            <source>A fully connected layer: {n} parameters</source>
            <translation>一个全连接层：{n} 个参数</translation>
        </message>
        <message>
            <source>A one-megapixel image mapped to 1000 hidden values by a fully connected layer needs 10^6 × 10^3 = 10^9 weights (plus 10^3 biases): too many to learn. A 3 x 3 convolution (kept at every 40th row and 25th column, 25 x 40 = 1000 outputs) maps the same input to the same number of outputs with 9 weights and 1 bias, because the weights are shared by every position. The next two lessons take the two steps that get there: &lt;a href='lesson:translation-invariance'&gt;translation invariance&lt;/a&gt; and &lt;a href='lesson:locality'&gt;locality&lt;/a&gt;.</source>
            <translation>用全连接层把一张百万像素的图像映射到 1000 个隐藏值，需要 10^6 × 10^3 = 10^9 个权重（外加 10^3 个偏置）：多到无法学习。一个 3 x 3 卷积（每隔 40 行、25 列保留一个输出，共 25 x 40 = 1000 个输出）把同样的输入映射到同样数量的输出，只需 9 个权重和 1 个偏置，因为所有位置共享同一组权重。接下来的两课分两步走到这里：&lt;a href='lesson:translation-invariance'&gt;平移不变性&lt;/a&gt;和&lt;a href='lesson:locality'&gt;局部性&lt;/a&gt;。</translation>
        </message>
        <message>
            <source>A {type} layer has no kernel: select a conv layer to edit one.</source>
            <translation>{type} 层没有卷积核：选择一个卷积层来编辑卷积核。</translation>
        </message>
        <message>
            <source>Bias (the biases pushed through the run): {bias}</source>
            <translation>偏置（各层偏置经过这一串层后的结果）：{bias}</translation>
        </message>
        <message>
            <source>Cell {cell} unchanged: {why}</source>
            <translation>单元格 {cell} 未改变：{why}</translation>
        </message>
        <message>
            <source>Checking {n} layers against OpenCV…</source>
            <translation>正在用 OpenCV 核对 {n} 层…</translation>
        </message>
        <message>
            <source>Click a pixel to see how it is computed. Edit freely: the Learn menu brings the lesson back.</source>
            <translation>单击一个像素，查看它是如何计算的。可以随意修改：“学习”菜单会重新打开本课。</translation>
        </message>
        <message>
            <source>Composing layers {first}–{last}…</source>
            <translation>正在合成第 {first}–{last} 层…</translation>
        </message>
        <message>
            <source>Computed on the preview copy (1/{f} of the image; View ▸ Preview large images switches it off).</source>
            <translation>在预览副本上计算（图像的 1/{f}；“视图 ▸ 预览大图像”可将其关闭）。</translation>
        </message>
        <message>
            <source>Computing layer {n}…</source>
            <translation>正在计算第 {n} 层…</translation>
        </message>
        <message>
            <source>Cross-check failed: {why}</source>
            <translation>交叉核对失败：{why}</translation>
        </message>
        <message>
            <source>Each unpadded 3 x 3 convolution loses a border pixel all round. Padding the 8 x 8 input by p_h = k_h - 1 rows in total (1 on each side) keeps it 8 x 8: n_h + p_h - k_h + 1 = 8 + 2 - 3 + 1 = 8. The second layer uses a 5 x 3 kernel with padding (2, 1) and keeps the shape too. Switch the padding mode to see what the border is filled with.</source>
            <translation>每个不加填充的 3 x 3 卷积都会使四周各少一圈像素。给 8 x 8 的输入一共填充 p_h = k_h - 1 行（每侧 1 行），输出仍为 8 x 8：n_h + p_h - k_h + 1 = 8 + 2 - 3 + 1 = 8。第二层使用 5 x 3 的卷积核，填充为 (2, 1)，同样保持形状不变。切换填充模式，看看边界是用什么填充的。</translation>
        </message>
        <message>
            <source>Exact wherever the window stays inside the image; near the borders each layer's padding makes the run differ from one kernel.</source>
            <translation>只要窗口完全位于图像内部，结果就完全相同；在边界附近，各层的填充会使这一串层与单个卷积核的结果不同。</translation>
        </message>
        <message>
            <source>Hover a pixel of the selected layer: its receptive field appears on the input. Click to pin it (several pins compare; a pinned pixel also shows on earlier layers' maps when you select them).</source>
            <translation>将鼠标悬停在所选层的像素上：它的感受野会显示在输入上。单击可将其固定（多个固定点便于比较；选择更早的层时，固定的像素也会显示在它们的特征图上）。</translation>
        </message>
        <message>
            <source>Layer {n}</source>
            <translation>第 {n} 层</translation>
        </message>
        <message>
            <source>Layer {n} ({type}) is not linear: {why}. No single kernel reproduces it.</source>
            <translation>第 {n} 层（{type}）不是线性的：{why}。没有任何单个卷积核能重现它。</translation>
        </message>
        <message>
            <source>Layer {n} does not fit its input, so the run from layer {first} has no input.</source>
            <translation>第 {n} 层与其输入不匹配，因此从第 {first} 层开始的这一串层没有输入。</translation>
        </message>
        <message>
            <source>Layer {n} does not fit its input; the layers after it wait.</source>
            <translation>第 {n} 层与其输入不匹配；其后的各层处于等待状态。</translation>
        </message>
        <message>
            <source>Layer {n} has no output to explain (it does not fit its input, or an earlier layer does not).</source>
            <translation>第 {n} 层没有可解释的输出（它或更早的某一层与输入不匹配）。</translation>
        </message>
        <message>
            <source>Layer {n} has not been computed.</source>
            <translation>第 {n} 层尚未计算。</translation>
        </message>
        <message>
            <source>Layer {n} is not computed yet (or does not fit its input).</source>
            <translation>第 {n} 层尚未计算（或与其输入不匹配）。</translation>
        </message>
        <message>
            <source>Layer {n} output: {shape} (channels x height x width)</source>
            <translation>第 {n} 层的输出：{shape}（通道 x 高 x 宽）</translation>
        </message>
        <message>
            <source>Layer {n} values: every row is {values}</source>
            <translation>第 {n} 层的值：每一行都是 {values}</translation>
        </message>
        <message>
            <source>Layer {n} values: {values}</source>
            <translation>第 {n} 层的值：{values}</translation>
        </message>
        <message>
            <source>Layer {n}: {layer}</source>
            <translation>第 {n} 层：{layer}</translation>
        </message>
        <message>
            <source>Layers {first}–{last}</source>
            <translation>第 {first}–{last} 层</translation>
        </message>
        <message>
            <source>Layers {first}–{last} are linear, but their combined kernel is {h} × {w}: too large to show (the limit is {limit}).</source>
            <translation>第 {first}–{last} 层是线性的，但合成的卷积核为 {h} × {w}：太大，无法显示（上限为 {limit}）。</translation>
        </message>
        <message>
            <source>Learn convolution</source>
            <translation>学习卷积</translation>
        </message>
        <message>
            <source>Lesson {n} of {total}</source>
            <translation>第 {n} 课，共 {total} 课</translation>
        </message>
        <message>
            <source>Lesson {n} of {total}: {title}</source>
            <translation>第 {n} 课，共 {total} 课：{title}</translation>
        </message>
        <message>
            <source>Locality: a hidden value looks only at the pixels near it, V_{a,b} = 0 when |a| &gt; Δ or |b| &gt; Δ. For a 1-megapixel image and a 1-megapixel hidden map, fully connected needs 10^6 × 10^6 = 10^12 weights; locally connected (one (2Δ + 1)² window per output pixel, each with weights of its own) 10^6 × 9 for Δ = 1; the convolution (one window, shared) 9. The Shapes &amp; formula page counts the three for the selected layer and your image.</source>
            <translation>局部性：隐藏值只看它附近的像素，当 |a| &gt; Δ 或 |b| &gt; Δ 时 V_{a,b} = 0。对于百万像素的图像和百万像素的隐藏表示，全连接需要 10^6 × 10^6 = 10^12 个权重；局部连接（每个输出像素一个 (2Δ + 1)² 窗口，各有自己的权重）在 Δ = 1 时需要 10^6 × 9 个；卷积（一个共享的窗口）只需 9 个。“形状与公式”页会针对所选层和你的图像计算这三个数。</translation>
        </message>
        <message>
            <source>No combined kernel: {why}</source>
            <translation>无法合成卷积核：{why}</translation>
        </message>
        <message>
            <source>No layers yet: &lt;b&gt;Add&lt;/b&gt; one below the input.</source>
            <translation>还没有层：在输入下方&lt;b&gt;添加&lt;/b&gt;一层。</translation>
        </message>
        <message>
            <source>On a 4 x 4 input 0..15, a 3 x 3 max window with its default stride 3 fits once: [[10]]. Padding and a smaller stride give more windows, which overlap the border (max pooling pads with -inf, so the border never wins): padding 1 and stride 2 in &lt;a href='lesson:pooling-padding-2'&gt;lesson 17b&lt;/a&gt;, a (2, 3) window with padding (0, 1) and stride (2, 3) in &lt;a href='lesson:pooling-padding-3'&gt;lesson 17c&lt;/a&gt;.</source>
            <translation>在 4 x 4 的输入 0..15 上，3 x 3 的最大池化窗口使用默认步幅 3，只能放下一次：[[10]]。加上填充、减小步幅会得到更多窗口，它们会越过边界（最大池化用 -inf 填充，所以边界永远不会胜出）：&lt;a href='lesson:pooling-padding-2'&gt;第 17b 课&lt;/a&gt;使用填充 1、步幅 2，&lt;a href='lesson:pooling-padding-3'&gt;第 17c 课&lt;/a&gt;使用 (2, 3) 的窗口、填充 (0, 1) 和步幅 (2, 3)。</translation>
        </message>
        <message>
            <source>One kernel of shape c_i x k_h x k_w per output channel: stacking K, K + 1 and K + 2 gives a 3 x 2 x 2 x 2 weight and three output maps. The first is the previous lesson's.</source>
            <translation>每个输出通道对应一个形状为 c_i x k_h x k_w 的卷积核：把 K、K + 1 和 K + 2 堆叠起来，得到 3 x 2 x 2 x 2 的权重和三张输出特征图。第一张就是上一课的结果。</translation>
        </message>
        <message>
            <source>Open an image (File ▸ Open image, or a sample).</source>
            <translation>打开一张图像（“文件 ▸ 打开图像”，或选择一个示例）。</translation>
        </message>
        <message>
            <source>Open the lesson '{id}': image, pipeline and explanation</source>
            <translation>打开本课：图像、流水线和讲解</translation>
        </message>
        <message>
            <source>Output</source>
            <translation>输出</translation>
        </message>
        <message>
            <source>Pinned</source>
            <translation>已固定</translation>
        </message>
        <message>
            <source>Pooling and activation layers have no kernel.</source>
            <translation>池化层和激活层没有卷积核。</translation>
        </message>
        <message>
            <source>ReLU sets negative values to 0: it bends at 0</source>
            <translation>ReLU 把负值设为 0：它在 0 处弯折</translation>
        </message>
        <message>
            <source>Receptive field of layer {n}: {rf} input pixels</source>
            <translation>第 {n} 层的感受野：{rf} 个输入像素</translation>
        </message>
        <message>
            <source>Select a conv layer to compare its border modes.</source>
            <translation>选择一个卷积层来比较它的边界模式。</translation>
        </message>
        <message>
            <source>Select a layer (the input is not computed by anything).</source>
            <translation>请选择一层（输入不是由任何层计算出来的）。</translation>
        </message>
        <message>
            <source>Select a layer: if the layers up to it are linear (conv, average pooling, pad, stride), they act as one single kernel, shown here.</source>
            <translation>选择一层：如果它及之前的各层都是线性的（卷积、平均池化、填充、步幅），它们就相当于单个卷积核，显示在这里。</translation>
        </message>
        <message>
            <source>Set cell {cell} to {value}.</source>
            <translation>已将单元格 {cell} 设为 {value}。</translation>
        </message>
        <message>
            <source>Strictly, what a convolutional layer computes is a cross-correlation. A true convolution first rotates the kernel by 180 degrees (flips it up-down and left-right): [[0, 1], [2, 3]] becomes [[3, 2], [1, 0]], so the first output is 0×3 + 1×2 + 3×1 + 4×0 = 5 instead of 19. The layer's 'Flip' box does it. A network that learns its kernels does not care: it learns the flipped kernel instead.</source>
            <translation>严格地说，卷积层计算的是互相关。真正的卷积要先把卷积核旋转 180 度（上下、左右各翻转一次）：[[0, 1], [2, 3]] 变为 [[3, 2], [1, 0]]，于是第一个输出是 0×3 + 1×2 + 3×1 + 4×0 = 5，而不是 19。层参数中的“翻转”复选框就是做这件事的。学习卷积核的网络并不在意这一点：它会直接学到翻转后的卷积核。</translation>
        </message>
        <message>
            <source>Table shows the top-left {sr} × {sc} of {rows} × {cols}.</source>
            <translation>表格只显示 {rows} × {cols} 中左上角的 {sr} × {sc}。</translation>
        </message>
        <message>
            <source>The 2x2 kernel slides over the 3x3 input from the top left, left to right, top to bottom. At each position the window and the kernel are multiplied element by element and summed: 0×0 + 1×1 + 3×2 + 4×3 = 19. The output is (3 - 2 + 1) x (3 - 2 + 1) = 2 x 2. Click an output pixel to see its sum written out; Learn ▸ Sliding window player plays the whole slide.</source>
            <translation>2x2 的卷积核从左上角开始，在 3x3 的输入上从左到右、从上到下滑动。在每个位置，窗口与卷积核按元素相乘再求和：0×0 + 1×1 + 3×2 + 4×3 = 19。输出为 (3 - 2 + 1) x (3 - 2 + 1) = 2 x 2。单击一个输出像素可以看到它的求和式；“学习 ▸ 滑动窗口播放器”会演示整个滑动过程。</translation>
        </message>
        <message>
            <source>The 3 x 3 max window with padding 1 and stride 2 on 0..15: [[5, 7], [13, 15]].</source>
            <translation>在 0..15 上使用 3 x 3 的最大池化窗口，填充 1，步幅 2：[[5, 7], [13, 15]]。</translation>
        </message>
        <message>
            <source>The clicked pixel is no longer in the layer's map.</source>
            <translation>所单击的像素已不在该层的特征图中。</translation>
        </message>
        <message>
            <source>The edge detector of lesson 6 was written by hand. A network finds its kernels itself: start from a wrong 1 x 2 kernel [0.3, 0.7] and let gradient descent change it until the output matches the edge image Y = corr2d(X, [1, -1]) (mean squared error). Open Learn ▸ Learn a kernel..., keep the target 'Edge detector [1, -1]' and press Start: the loss falls on a log scale and the kernel becomes [1, -1] within a few dozen steps. On the command line: &lt;code&gt;convstudio fit&lt;/code&gt;.</source>
            <translation>第 6 课的边缘检测器是手工写出来的。网络会自己找到卷积核：从一个错误的 1 x 2 卷积核 [0.3, 0.7] 出发，用梯度下降不断修改它，直到输出与边缘图像 Y = corr2d(X, [1, -1]) 一致（均方误差）。打开“学习 ▸ 学习卷积核...”，保留目标“边缘检测器 [1, -1]”，然后按“开始”：损失在对数坐标上下降，几十步之内卷积核就变为 [1, -1]。命令行中使用：&lt;code&gt;convstudio fit&lt;/code&gt;。</translation>
        </message>
        <message>
            <source>The image has more than {mp} megapixels: the layers are computed on a copy shrunk {f}× (View ▸ Preview). Export is always full resolution.</source>
            <translation>图像超过 {mp} 百万像素：各层在缩小 {f}× 的副本上计算（“视图 ▸ 预览”）。导出始终使用全分辨率。</translation>
        </message>
        <message>
            <source>The input image</source>
            <translation>输入图像</translation>
        </message>
        <message>
            <source>The input image: {shape} (channels × height × width)</source>
            <translation>输入图像：{shape}（通道 × 高 × 宽）</translation>
        </message>
        <message>
            <source>The input is not computed by anything: select a layer and click one of its pixels.</source>
            <translation>输入不是由任何层计算出来的：请选择一层并单击它的一个像素。</translation>
        </message>
        <message>
            <source>The output 19 of a 2 x 2 kernel sees four input values. Stack a second 2 x 2 convolution on the 2 x 2 output and its single value z sees all four of Y and all nine inputs: the receptive field grows from 2 x 2 to 3 x 3. Click a pixel of layer 2 to see its window on the input.</source>
            <translation>2 x 2 卷积核的输出 19 只看到四个输入值。在 2 x 2 的输出上再叠加一个 2 x 2 卷积，它唯一的输出值 z 能看到 Y 的全部四个值和全部九个输入：感受野从 2 x 2 增大到 3 x 3。单击第 2 层的一个像素，看看它在输入上的窗口。</translation>
        </message>
        <message>
            <source>The run starts at layer {first}: layer {n} ({type}) is not linear ({why}).</source>
            <translation>这一串层从第 {first} 层开始：第 {n} 层（{type}）不是线性的（{why}）。</translation>
        </message>
        <message>
            <source>The same 2 x 2 window on 0..8 with stride 1, averaging: [[2, 3], [5, 6]].</source>
            <translation>在 0..8 上使用同样的 2 x 2 窗口、步幅 1，取平均值：[[2, 3], [5, 6]]。</translation>
        </message>
        <message>
            <source>The tutorial gives pooling two purposes: to make the convolution less sensitive to where things are, and to downsample to coarser maps. Layer 1 is the edge detector [1, -1]; layer 2 max-pools its map 2 x 2. Open Learn ▸ Shift the input... and move the image one pixel right: every edge of layer 1 moves off itself (it changes by twice its own size), while the pooled map (layer 2) keeps the values whose maximum stays inside its 2 x 2 window, and changes much less (by how much depends on where each edge falls in its window: try -1 too). Moved by 2, a whole step of the pooled map, it shifts back exactly.</source>
            <translation>教程给出了池化的两个目的：降低卷积对位置的敏感性，以及降采样得到更粗的特征图。第 1 层是边缘检测器 [1, -1]；第 2 层对它的特征图做 2 x 2 最大池化。打开“学习 ▸ 平移输入...”，把图像向右移动一个像素：第 1 层的每条边缘都离开了原来的位置（变化量是其自身大小的两倍），而池化后的特征图（第 2 层）中，最大值仍落在同一个 2 x 2 窗口内的值保持不变，整体变化要小得多（小多少取决于每条边缘落在窗口中的位置：也试试 -1）。移动 2 个像素，即池化特征图的整整一步，结果会精确地平移回来。</translation>
        </message>
        <message>
            <source>The tutorial's padding figure: the 3 x 3 input padded with a ring of zeros to 5 x 5, then the 2 x 2 kernel: the output grows to (3 + 2 - 2 + 1) x (3 + 2 - 2 + 1) = 4 x 4. Its top-left value sees only padding and the 0: 0×0 + 0×1 + 0×2 + 0×3 = 0.</source>
            <translation>教程中的填充示意图：3 x 3 的输入四周填充一圈零，变为 5 x 5，再用 2 x 2 的卷积核：输出增大到 (3 + 2 - 2 + 1) x (3 + 2 - 2 + 1) = 4 x 4。它左上角的值只看到填充和 0：0×0 + 0×1 + 0×2 + 0×3 = 0。</translation>
        </message>
        <message>
            <source>The tutorial's second stride example: a 3 x 5 kernel with padding (0, 1) and strides (3, 4) on an 8 x 8 input gives floor((8 + 0 + 3 - 3) / 3) = 2 by floor((8 + 2 + 4 - 5) / 4) = 2.</source>
            <translation>教程中的第二个步幅示例：在 8 x 8 的输入上使用 3 x 5 的卷积核，填充 (0, 1)，步幅 (3, 4)，输出为 floor((8 + 0 + 3 - 3) / 3) = 2 乘 floor((8 + 2 + 4 - 5) / 4) = 2。</translation>
        </message>
        <message>
            <source>The tutorial's stride figure: the 3 x 3 input padded to 5 x 5 and the 2 x 2 kernel, jumping 3 rows down and 2 columns right: 0×0 + 0×1 + 1×2 + 2×3 = 8 and 0×0 + 6×1 + 0×2 + 0×3 = 6. The output is floor((3 + 2 + 3 - 2) / 3) x floor((3 + 2 + 2 - 2) / 2) = 2 x 2: [[0, 8], [6, 8]].</source>
            <translation>教程中的步幅示意图：3 x 3 的输入填充为 5 x 5，2 x 2 的卷积核每次向下跳 3 行、向右跳 2 列：0×0 + 0×1 + 1×2 + 2×3 = 8，0×0 + 6×1 + 0×2 + 0×3 = 6。输出为 floor((3 + 2 + 3 - 2) / 3) x floor((3 + 2 + 2 - 2) / 2) = 2 x 2：[[0, 8], [6, 8]]。</translation>
        </message>
        <message>
            <source>The tutorial, one example per section: each opens an image, a pipeline and a short explanation. Walk through them with Previous and Next.</source>
            <translation>教程的每一节对应一个示例：每个示例打开一张图像、一条流水线和一段简短的讲解。用“上一课”和“下一课”逐个浏览。</translation>
        </message>
        <message>
            <source>This pipeline: {n} parameters</source>
            <translation>这条流水线：{n} 个参数</translation>
        </message>
        <message>
            <source>Time</source>
            <translation>耗时</translation>
        </message>
        <message>
            <source>Waiting: an earlier layer does not fit.</source>
            <translation>等待中：更早的某一层与其输入不匹配。</translation>
        </message>
        <message>
            <source>Waiting: layer {first} does not fit its input, so layer {n} has nothing to work on.</source>
            <translation>等待中：第 {first} 层与其输入不匹配，因此第 {n} 层没有可处理的数据。</translation>
        </message>
        <message>
            <source>What to look for</source>
            <translation>看点</translation>
        </message>
        <message>
            <source>With an even kernel, p_h = k_h - 1 is odd and cannot be split evenly: the tutorial puts ceil(p_h / 2) rows on top and floor(p_h / 2) at the bottom (the same for the columns). The 2 x 2 kernel on the 3 x 3 input with padding 'same': p_h = 1, so 1 row on top, 0 at the bottom, 1 column on the left, 0 on the right, and the output stays 3 x 3: [[0, 3, 8], [9, 19, 25], [21, 37, 43]].</source>
            <translation>卷积核边长为偶数时，p_h = k_h - 1 是奇数，无法平均分配：教程在顶部填充 ceil(p_h / 2) 行，在底部填充 floor(p_h / 2) 行（列也一样）。在 3 x 3 的输入上用 2 x 2 卷积核并使用 'same' 填充：p_h = 1，所以顶部 1 行、底部 0 行、左侧 1 列、右侧 0 列，输出保持 3 x 3：[[0, 3, 8], [9, 19, 25], [21, 37, 43]]。</translation>
        </message>
        <message>
            <source>With stride s the window jumps s pixels at a time, so the output shape is floor((n + p + s - k) / s). 8 x 8 with a 3 x 3 kernel, padding 1, stride 2: floor((8 + 2 + 2 - 3) / 2) = 4, so 4 x 4. With p = k - 1 the formula simplifies to floor((n + s - 1) / s) = floor((8 + 2 - 1) / 2) = 4, and as 2 divides 8, to n / s = 8 / 2 = 4. Then a 3 x 5 kernel, padding (0, 1), strides (3, 4) on that 4 x 4: floor((4 + 0 + 3 - 3) / 3) = 1 by floor((4 + 2 + 4 - 5) / 4) = 1.</source>
            <translation>步幅为 s 时，窗口每次跳 s 个像素，所以输出形状为 floor((n + p + s - k) / s)。8 x 8 的输入、3 x 3 的卷积核、填充 1、步幅 2：floor((8 + 2 + 2 - 3) / 2) = 4，即 4 x 4。当 p = k - 1 时，公式简化为 floor((n + s - 1) / s) = floor((8 + 2 - 1) / 2) = 4；又因为 2 能整除 8，进一步简化为 n / s = 8 / 2 = 4。然后在这个 4 x 4 上用 3 x 5 的卷积核，填充 (0, 1)，步幅 (3, 4)：floor((4 + 0 + 3 - 3) / 3) = 1 乘 floor((4 + 2 + 4 - 5) / 4) = 1。</translation>
        </message>
        <message>
            <source>With two input channels the kernel has two slices, one per channel. Each channel is cross-correlated with its own slice and the results are added: (1×1 + 2×2 + 4×3 + 5×4) + (0×0 + 1×1 + 3×2 + 4×3) = 56.</source>
            <translation>有两个输入通道时，卷积核有两个切片，每个通道一个。每个通道与各自的切片做互相关运算，再把结果相加：(1×1 + 2×2 + 4×3 + 5×4) + (0×0 + 1×1 + 3×2 + 4×3) = 56。</translation>
        </message>
        <message>
            <source>abs</source>
            <translation>abs</translation>
        </message>
        <message>
            <source>abs folds negative values up: it bends at 0</source>
            <translation>abs 把负值翻折为正：它在 0 处弯折</translation>
        </message>
        <message>
            <source>all zeros: this input channel does not reach this output channel</source>
            <translation>全为零：这个输入通道不影响这个输出通道</translation>
        </message>
        <message>
            <source>avgpool</source>
            <translation>平均池化</translation>
        </message>
        <message>
            <source>bilinear</source>
            <translation>bilinear</translation>
        </message>
        <message>
            <source>channel </source>
            <translation>通道 </translation>
        </message>
        <message>
            <source>channels {first}-{last}</source>
            <translation>通道 {first}-{last}</translation>
        </message>
        <message>
            <source>circular</source>
            <translation>circular</translation>
        </message>
        <message>
            <source>column {n}: offset {offset} from the anchor (centre) column</source>
            <translation>第 {n} 列：相对锚点（中心）列偏移 {offset}</translation>
        </message>
        <message>
            <source>constant</source>
            <translation>constant</translation>
        </message>
        <message>
            <source>conv</source>
            <translation>卷积</translation>
        </message>
        <message>
            <source>convT</source>
            <translation>转置卷积</translation>
        </message>
        <message>
            <source>disabled: passes its input through unchanged</source>
            <translation>已禁用：原样传递其输入</translation>
        </message>
        <message>
            <source>dx</source>
            <translation>dx</translation>
        </message>
        <message>
            <source>dy</source>
            <translation>dy</translation>
        </message>
        <message>
            <source>gray</source>
            <translation>灰度</translation>
        </message>
        <message>
            <source>grey: maps without negatives</source>
            <translation>灰色：没有负值的特征图</translation>
        </message>
        <message>
            <source>input</source>
            <translation>输入</translation>
        </message>
        <message>
            <source>input channel </source>
            <translation>输入通道 </translation>
        </message>
        <message>
            <source>input channel {n} ({label})</source>
            <translation>输入通道 {n}（{label}）</translation>
        </message>
        <message>
            <source>input shape {shape} (C×H×W), float32</source>
            <translation>输入形状 {shape}（C×H×W），float32</translation>
        </message>
        <message>
            <source>it is not a weighted sum of its inputs</source>
            <translation>它不是其输入的加权和</translation>
        </message>
        <message>
            <source>jump</source>
            <translation>跳距</translation>
        </message>
        <message>
            <source>kernel {kh} x {kw}, applied to each channel on its own</source>
            <translation>卷积核 {kh} x {kw}，分别作用于每个通道</translation>
        </message>
        <message>
            <source>layer</source>
            <translation>层</translation>
        </message>
        <message>
            <source>layer {n}</source>
            <translation>第 {n} 层</translation>
        </message>
        <message>
            <source>layer {n} (row {row}, col {col}): input rows {rows}, cols {cols}{unit} — {h} × {w}{pad}</source>
            <translation>第 {n} 层（第 {row} 行，第 {col} 列）：输入的第 {rows} 行、第 {cols} 列{unit}——{h} × {w}{pad}</translation>
        </message>
        <message>
            <source>leaky ReLU has a different slope below 0: it bends at 0</source>
            <translation>Leaky ReLU 在 0 以下的斜率不同：它在 0 处弯折</translation>
        </message>
        <message>
            <source>levels locked</source>
            <translation>色阶已锁定</translation>
        </message>
        <message>
            <source>max {v}</source>
            <translation>最大 {v}</translation>
        </message>
        <message>
            <source>maxpool</source>
            <translation>最大池化</translation>
        </message>
        <message>
            <source>min {v}</source>
            <translation>最小 {v}</translation>
        </message>
        <message>
            <source>nearest</source>
            <translation>nearest</translation>
        </message>
        <message>
            <source>no image</source>
            <translation>无图像</translation>
        </message>
        <message>
            <source>no layers: add one with Layer ▸ Add</source>
            <translation>没有层：用“层 ▸ 添加”添加一层</translation>
        </message>
        <message>
            <source>not separable (rank {rank})</source>
            <translation>不可分离（秩 {rank}）</translation>
        </message>
        <message>
            <source>not separable (rank {rank}: a sum of {rank} separable kernels)</source>
            <translation>不可分离（秩 {rank}：{rank} 个可分离卷积核之和）</translation>
        </message>
        <message>
            <source>one fully connected layer doing the same mapping would need {fc} parameters</source>
            <translation>完成同样映射的一个全连接层需要 {fc} 个参数</translation>
        </message>
        <message>
            <source>output C x H x W</source>
            <translation>输出 C x H x W</translation>
        </message>
        <message>
            <source>output channel {n}</source>
            <translation>输出通道 {n}</translation>
        </message>
        <message>
            <source>output {o} ← input {c}: </source>
            <translation>输出 {o} ← 输入 {c}：</translation>
        </message>
        <message>
            <source>output {shape}; receptive field {rf}, jump {jump}; {params} parameters</source>
            <translation>输出 {shape}；感受野 {rf}，跳距 {jump}；{params} 个参数</translation>
        </message>
        <message>
            <source>pad</source>
            <translation>填充</translation>
        </message>
        <message>
            <source>padded</source>
            <translation>有填充</translation>
        </message>
        <message>
            <source>params</source>
            <translation>参数</translation>
        </message>
        <message>
            <source>per channel</source>
            <translation>逐通道</translation>
        </message>
        <message>
            <source>preview 1/{f}</source>
            <translation>预览 1/{f}</translation>
        </message>
        <message>
            <source>range [{lo}, {hi}]</source>
            <translation>范围 [{lo}, {hi}]</translation>
        </message>
        <message>
            <source>rank 0 (all zero)</source>
            <translation>秩 0（全为零）</translation>
        </message>
        <message>
            <source>rank not computed (too large)</source>
            <translation>未计算秩（太大）</translation>
        </message>
        <message>
            <source>rank {rank}</source>
            <translation>秩 {rank}</translation>
        </message>
        <message>
            <source>receptive field</source>
            <translation>感受野</translation>
        </message>
        <message>
            <source>receptive field of the last layer: {rf} input pixels</source>
            <translation>最后一层的感受野：{rf} 个输入像素</translation>
        </message>
        <message>
            <source>reflect</source>
            <translation>reflect</translation>
        </message>
        <message>
            <source>replicate</source>
            <translation>replicate</translation>
        </message>
        <message>
            <source>row sums {sums}</source>
            <translation>行和 {sums}</translation>
        </message>
        <message>
            <source>row {n}: offset {offset} from the anchor (centre) row</source>
            <translation>第 {n} 行：相对锚点（中心）行偏移 {offset}</translation>
        </message>
        <message>
            <source>separable</source>
            <translation>可分离</translation>
        </message>
        <message>
            <source>sigmoid squashes its input into (0, 1)</source>
            <translation>sigmoid 把输入压缩到 (0, 1)</translation>
        </message>
        <message>
            <source>start</source>
            <translation>起点</translation>
        </message>
        <message>
            <source>stride</source>
            <translation>步幅</translation>
        </message>
        <message>
            <source>sum of weights {s}; {sep}.</source>
            <translation>权重之和 {s}；{sep}。</translation>
        </message>
        <message>
            <source>sum {v}</source>
            <translation>和 {v}</translation>
        </message>
        <message>
            <source>sum ≈ 0</source>
            <translation>和 ≈ 0</translation>
        </message>
        <message>
            <source>symmetric</source>
            <translation>symmetric</translation>
        </message>
        <message>
            <source>tanh squashes its input into (-1, 1)</source>
            <translation>tanh 把输入压缩到 (-1, 1)</translation>
        </message>
        <message>
            <source>top {t}, bottom {b}, left {l}, right {r}</source>
            <translation>上 {t}，下 {b}，左 {l}，右 {r}</translation>
        </message>
        <message>
            <source>untitled pipeline</source>
            <translation>未命名流水线</translation>
        </message>
        <message>
            <source>updating layer {n}…</source>
            <translation>正在更新第 {n} 层…</translation>
        </message>
        <message>
            <source>upsample</source>
            <translation>上采样</translation>
        </message>
        <message>
            <source>w[{row}, {col}] = {value}
offset (dy, dx) = ({dy}, {dx})</source>
            <translation>w[{row}, {col}] = {value}
偏移 (dy, dx) = ({dy}, {dx})</translation>
        </message>
        <message>
            <source>waiting</source>
            <translation>等待中</translation>
        </message>
        <message>
            <source>waiting: layer {n} does not fit its input</source>
            <translation>等待中：第 {n} 层与其输入不匹配</translation>
        </message>
        <message>
            <source>waiting: layer {n} failed</source>
            <translation>等待中：第 {n} 层计算失败</translation>
        </message>
        <message>
            <source>weight {cout} x {cin} x {kh} x {kw}</source>
            <translation>权重 {cout} x {cin} x {kh} x {kw}</translation>
        </message>
        <message>
            <source>zeros</source>
            <translation>zeros</translation>
        </message>
        <message>
            <source>{cin} → {cout} channel.</source>
            <translation>{cin} → {cout} 个通道。</translation>
        </message>
        <message>
            <source>{cin} → {cout} channels.</source>
            <translation>{cin} → {cout} 个通道。</translation>
        </message>
        <message>
            <source>{inp} → {out}; receptive field {rf}, jump {jump}; {params} parameters</source>
            <translation>{inp} → {out}；感受野 {rf}，跳距 {jump}；{params} 个参数</translation>
        </message>
        <message>
            <source>{name}[*] — {image} — ConvStudio</source>
            <translation>{name}[*] — {image} — ConvStudio</translation>
        </message>
        <message>
            <source>{n} channels</source>
            <translation>{n} 个通道</translation>
        </message>
        <message>
            <source>{n} column</source>
            <translation>{n} 列</translation>
        </message>
        <message>
            <source>{n} columns</source>
            <translation>{n} 列</translation>
        </message>
        <message>
            <source>{n} lessons</source>
            <translation>共 {n} 课</translation>
        </message>
        <message>
            <source>{n} row</source>
            <translation>{n} 行</translation>
        </message>
        <message>
            <source>{n} rows</source>
            <translation>{n} 行</translation>
        </message>
        <message>
            <source>{n} {name} waiting</source>
            <translation>{n} {name} 等待中</translation>
        </message>
        <message>
            <source>{n} {name} ⚠ does not fit</source>
            <translation>{n} {name} ⚠ 不匹配</translation>
        </message>
        <message>
            <source>{shape} (editing out {o}, in {i})</source>
            <translation>{shape}（正在编辑输出通道 {o}、输入通道 {i}）</translation>
        </message>
        <message>
            <source>{shape}: a 1 x 1 convolution mixes channels (rows: output, columns: input)</source>
            <translation>{shape}：1 x 1 卷积混合各通道（行：输出，列：输入）</translation>
        </message>
        <message>
            <source>⚠ Does not fit its input: {why}</source>
            <translation>⚠ 与其输入不匹配：{why}</translation>
        </message>
        <message>
            <source>⚠ Layer {n} does not fit its input:
{why}</source>
            <translation>⚠ 第 {n} 层与其输入不匹配：
{why}</translation>
        </message>
        <message>
            <source>⚠ Layer {n} failed:
{why}</source>
            <translation>⚠ 第 {n} 层计算失败：
{why}</translation>
        </message>
        <message>
            <source>⚠ does not fit</source>
            <translation>⚠ 不匹配</translation>
        </message>
        <message>
            <source>Learning layer {n}: {layer}</source>
            <translation>正在学习第 {n} 层：{layer}</translation>
        </message>
        <message>
            <source>Select an enabled conv2d layer to learn its kernel.</source>
            <translation>选择一个已启用的 conv2d 层来学习它的卷积核。</translation>
        </message>
        <message>
            <source>full resolution</source>
            <translation>全分辨率</translation>
        </message>
        <message>
            <source>full resolution, tile by tile from the file</source>
            <translation>全分辨率，从文件中逐块读取</translation>
        </message>
        <message>
            <source>this layer does not fit its input</source>
            <translation>该层与其输入不匹配</translation>
        </message>
        <message>
            <source>{shape} (C×H×W, {how})</source>
            <translation>{shape}（C×H×W，{how}）</translation>
        </message>
        <message>
            <source>A 1 x 1 kernel sees one pixel, so each output value is a weighted sum of that pixel's input channels plus a bias: the layer is a fully connected layer applied at every pixel, with a c_o x c_i weight matrix and c_o biases. Here: 3 inputs (R, G, B), 2 outputs: luma (0.299 R + 0.587 G + 0.114 B) and a red-minus-blue opponent channel shifted by a bias of 0.1: 2 x 3 weights and 2 biases, 8 learnable parameters. The kernel size, padding, stride and number of output channels are hyperparameters: chosen, not learned.</source>
            <translation>1 x 1 卷积核只看一个像素，因此每个输出值都是该像素各输入通道的加权和再加上偏置：这一层相当于在每个像素位置上应用的全连接层，其权重矩阵为 c_o x c_i，偏置有 c_o 个。这里有 3 个输入（R、G、B）和 2 个输出：亮度（0.299 R + 0.587 G + 0.114 B），以及一个“红减蓝”的对立通道，并加上 0.1 的偏置：2 x 3 个权重和 2 个偏置，共 8 个可学习参数。卷积核大小、填充、步幅和输出通道数是超参数：它们是人为选定的，而不是学习得到的。</translation>
        </message>
        <message>
            <source>A 1 × 1 kernel needs no padding: the modes agree everywhere.</source>
            <translation>1 × 1 卷积核不需要填充：各模式处处一致。</translation>
        </message>
        <message>
            <source>H (rows)</source>
            <translation>H（行）</translation>
        </message>
        <message>
            <source>Layer {n}: {layer} — padding top {t}, bottom {b}, left {l}, right {r}</source>
            <translation>第 {n} 层：{layer} — 填充 上 {t}，下 {b}，左 {l}，右 {r}</translation>
        </message>
        <message>
            <source>One fully connected layer doing the same mapping connects every one of the {in_shape} = {n_in} input values to every one of the {out_shape} = {n_out} output values: {n_in} × {n_out} weights + {n_out} biases = &lt;b&gt;{fc}&lt;/b&gt;. A convolution shares one small kernel across every position instead. (The tutorial's example: a 1000 × 1000 image mapped to 1000 outputs already needs 10&lt;sup&gt;6&lt;/sup&gt; × 10&lt;sup&gt;3&lt;/sup&gt; = 10&lt;sup&gt;9&lt;/sup&gt; weights.)</source>
            <translation>完成同样映射的一个全连接层，要把 {in_shape} = {n_in} 个输入值中的每一个连接到 {out_shape} = {n_out} 个输出值中的每一个：{n_in} × {n_out} 个权重 + {n_out} 个偏置 = &lt;b&gt;{fc}&lt;/b&gt;。卷积则在所有位置共享一个小卷积核。（教程中的例子：把 1000 × 1000 的图像映射到 1000 个输出，就已经需要 10&lt;sup&gt;6&lt;/sup&gt; × 10&lt;sup&gt;3&lt;/sup&gt; = 10&lt;sup&gt;9&lt;/sup&gt; 个权重。）</translation>
        </message>
        <message>
            <source>Open an image: the sizes depend on it.</source>
            <translation>请打开一张图像：各个大小取决于它。</translation>
        </message>
        <message>
            <source>Output size per axis: floor((n + p - d×(k - 1) - 1) / s) + 1, which for dilation d = 1 is the tutorial's floor((n + p - k + s) / s); n = input size, p = padding on both sides together, k = kernel, s = stride. Pooling with ceil mode rounds up. A transposed convolution runs the other way: (n - 1)×s - 2p + d×(k - 1) + output padding + 1, p on each side.</source>
            <translation>每个轴上的输出大小：floor((n + p - d×(k - 1) - 1) / s) + 1，当膨胀 d = 1 时就是教程中的 floor((n + p - k + s) / s)；n = 输入大小，p = 两侧填充之和，k = 卷积核大小，s = 步幅。使用 ceil 模式的池化向上取整。转置卷积则反过来：(n - 1)×s - 2p + d×(k - 1) + 输出填充 + 1，p 为每侧的填充。</translation>
        </message>
        <message>
            <source>Strictly, what a convolutional layer computes is a cross-correlation. A true convolution first rotates the kernel by 180 degrees (flips it up-down and left-right): the kernel with rows (0, 1) and (2, 3) becomes rows (3, 2) and (1, 0), so the first output is 0×3 + 1×2 + 3×1 + 4×0 = 5 instead of 19. The layer's 'Flip' box does it. A network that learns its kernels does not care: it learns the flipped kernel instead.</source>
            <translation>严格地说，卷积层计算的是互相关。真正的卷积要先把卷积核旋转 180 度（上下、左右各翻转一次）：行为 (0, 1) 和 (2, 3) 的卷积核变为行 (3, 2) 和 (1, 0)，于是第一个输出是 0×3 + 1×2 + 3×1 + 4×0 = 5，而不是 19。层参数中的“翻转”复选框就是做这件事的。学习卷积核的网络并不在意这一点：它会直接学到翻转后的卷积核。</translation>
        </message>
        <message>
            <source>This layer has no padding, so every mode gives the same result; the comparison uses "same" padding instead.</source>
            <translation>该层没有填充，因此所有模式的结果都相同；比较时改用 "same" 填充。</translation>
        </message>
        <message>
            <source>W (columns)</source>
            <translation>W（列）</translation>
        </message>
        <message>
            <source>allowed</source>
            <translation>允许误差</translation>
        </message>
        <message>
            <source>differs from zeros at {n} of {total} values {where} (max |Δ| {d})</source>
            <translation>与 zeros 相比，{total} 个值中有 {n} 个不同{where}（最大 |Δ| {d}）</translation>
        </message>
        <message>
            <source>dilation</source>
            <translation>膨胀</translation>
        </message>
        <message>
            <source>groups</source>
            <translation>分组</translation>
        </message>
        <message>
            <source>identical to zeros</source>
            <translation>与 zeros 完全相同</translation>
        </message>
        <message>
            <source>in all channels</source>
            <translation>（所有通道）</translation>
        </message>
        <message>
            <source>layer {n}'s map</source>
            <translation>第 {n} 层的特征图</translation>
        </message>
        <message>
            <source>one fully connected layer</source>
            <translation>一个全连接层</translation>
        </message>
        <message>
            <source>output C × H × W</source>
            <translation>输出 C × H × W</translation>
        </message>
        <message>
            <source>output padding</source>
            <translation>输出填充</translation>
        </message>
        <message>
            <source>result</source>
            <translation>结果</translation>
        </message>
        <message>
            <source>the floor drops 1 column of {prev} (column {a}): no window reaches it</source>
            <translation>向下取整丢掉了{prev}的 1 列（第 {a} 列）：没有窗口到达它</translation>
        </message>
        <message>
            <source>the floor drops 1 row of {prev} (row {a}): no window reaches it</source>
            <translation>向下取整丢掉了{prev}的 1 行（第 {a} 行）：没有窗口到达它</translation>
        </message>
        <message>
            <source>the floor drops {n} columns of {prev} (columns {a}–{b}): no window reaches them</source>
            <translation>向下取整丢掉了{prev}的 {n} 列（第 {a}–{b} 列）：没有窗口到达它们</translation>
        </message>
        <message>
            <source>the floor drops {n} rows of {prev} (rows {a}–{b}): no window reaches them</source>
            <translation>向下取整丢掉了{prev}的 {n} 行（第 {a}–{b} 行）：没有窗口到达它们</translation>
        </message>
        <message>
            <source>the input</source>
            <translation>输入</translation>
        </message>
        <message>
            <source>the reference for the others</source>
            <translation>其他模式的参照</translation>
        </message>
        <message>
            <source>waiting for an earlier layer</source>
            <translation>等待更早的层</translation>
        </message>
        <message>
            <source>{params} parameters vs {fc} for a fully connected layer</source>
            <translation>{params} 个参数，而全连接层需要 {fc} 个</translation>
        </message>
        <message>
            <source>it is not linear</source>
            <translation>它不是线性的</translation>
        </message>
        <message>
            <source>max pooling keeps the largest value of each window, which no fixed weights do</source>
            <translation>最大池化保留每个窗口中的最大值，这是任何固定权重都做不到的</translation>
        </message>
        <message>
            <source>output channel </source>
            <translation>输出通道 </translation>
        </message>
        <message>
            <source>#</source>
            <translation>#</translation>
        </message>
        <message>
            <source>max |core − OpenCV|</source>
            <translation>最大 |内核 − OpenCV|</translation>
        </message>
        <message>
            <source>equal sides</source>
            <translation>各边相等</translation>
        </message>
        <message>
            <source> (only {q} times as many: on so small an input the kernels cost more)</source>
            <translation>（仅为其 {q} 倍：输入这么小时，卷积核反而更费参数）</translation>
        </message>
        <message>
            <source> ({q} times as many)</source>
            <translation>（是其 {q} 倍）</translation>
        </message>
        <message>
            <source>&lt;p&gt;&lt;b&gt;Hyperparameters&lt;/b&gt; (chosen, not learned): kernel size {kh} × {kw}, padding, stride {sh} × {sw}, dilation, output channels. &lt;b&gt;Learnable parameters&lt;/b&gt;: the weights ({weights}) and the biases ({biases}).&lt;/p&gt;</source>
            <translation>&lt;p&gt;&lt;b&gt;超参数&lt;/b&gt;（由你选定，不是学出来的）：卷积核大小 {kh} × {kw}、填充、步幅 {sh} × {sw}、膨胀、输出通道数。&lt;b&gt;可学习参数&lt;/b&gt;：权重（{weights} 个）和偏置（{biases} 个）。&lt;/p&gt;</translation>
        </message>
        <message>
            <source>&lt;p&gt;&lt;b&gt;Locality and weight sharing, layer {layer}&lt;/b&gt; ({n_in} input values, {n_out} output values): fully connected, every output value sees every input value: &lt;b&gt;{fc}&lt;/b&gt; parameters. Locally connected (locality{delta}), each output value sees one window of {window} values with weights of its own: &lt;b&gt;{local}&lt;/b&gt;. Convolution (translation invariance), one window of weights shared by all {positions} positions: &lt;b&gt;{conv}&lt;/b&gt;.&lt;/p&gt;</source>
            <translation>&lt;p&gt;&lt;b&gt;局部性与权重共享，第 {layer} 层&lt;/b&gt;（{n_in} 个输入值，{n_out} 个输出值）：全连接时，每个输出值都看到每个输入值：&lt;b&gt;{fc}&lt;/b&gt; 个参数。局部连接（局部性{delta}）时，每个输出值只看到一个含 {window} 个值的窗口，并有它自己的权重：&lt;b&gt;{local}&lt;/b&gt;。卷积（平移不变性）时，一个窗口的权重由全部 {positions} 个位置共享：&lt;b&gt;{conv}&lt;/b&gt;。&lt;/p&gt;</translation>
        </message>
        <message>
            <source>unchanged (layer disabled) = {n}</source>
            <translation>不变（该层已停用）= {n}</translation>
        </message>
        <message>
            <source>unchanged = {n}</source>
            <translation>不变 = {n}</translation>
        </message>
        <message>
            <source>'{name}' is too large for the memory available</source>
            <translation>“{name}”太大，可用内存放不下</translation>
        </message>
        <message>
            <source>, unsaved changes</source>
            <translation>，有未保存的更改</translation>
        </message>
        <message>
            <source>. Done.</source>
            <translation>。完成。</translation>
        </message>
        <message>
            <source>. Paused.</source>
            <translation>。已暂停。</translation>
        </message>
        <message>
            <source>1 channel</source>
            <translation>1 个通道</translation>
        </message>
        <message>
            <source>1 file</source>
            <translation>1 个文件</translation>
        </message>
        <message>
            <source>1 layer</source>
            <translation>1 层</translation>
        </message>
        <message>
            <source>; output {shape}</source>
            <translation>；输出 {shape}</translation>
        </message>
        <message>
            <source>; stopped at node '{node}' ({op}): {reason}</source>
            <translation>；停在节点“{node}”（{op}）：{reason}</translation>
        </message>
        <message>
            <source>A new image: the next Start learns afresh.</source>
            <translation>换了新图像：下次“开始”将重新学习。</translation>
        </message>
        <message>
            <source>Add {type} layer</source>
            <translation>添加 {type} 层</translation>
        </message>
        <message>
            <source>Autosave is off: {why}</source>
            <translation>自动保存已关闭：{why}</translation>
        </message>
        <message>
            <source>Autosaved at {when}: {pipeline}; {image}.</source>
            <translation>自动保存于 {when}：{pipeline}；{image}。</translation>
        </message>
        <message>
            <source>Cancel</source>
            <translation>取消</translation>
        </message>
        <message>
            <source>Cannot import model</source>
            <translation>无法导入模型</translation>
        </message>
        <message>
            <source>Cannot open image</source>
            <translation>无法打开图像</translation>
        </message>
        <message>
            <source>Cannot open pipeline</source>
            <translation>无法打开流水线</translation>
        </message>
        <message>
            <source>Cannot paste image</source>
            <translation>无法粘贴图像</translation>
        </message>
        <message>
            <source>Cannot restore the session</source>
            <translation>无法恢复该会话</translation>
        </message>
        <message>
            <source>Cannot save pipeline</source>
            <translation>无法保存流水线</translation>
        </message>
        <message>
            <source>Cannot write {name} code: {why}</source>
            <translation>无法生成 {name} 代码：{why}</translation>
        </message>
        <message>
            <source>Change pipeline</source>
            <translation>更改流水线</translation>
        </message>
        <message>
            <source>Computing...</source>
            <translation>正在计算…</translation>
        </message>
        <message>
            <source>ConvStudio pipelines (*.json);;All files (*)</source>
            <translation>ConvStudio 流水线 (*.json);;所有文件 (*)</translation>
        </message>
        <message>
            <source>Copied {lines} lines of {name} code to the clipboard (1 input channel).</source>
            <translation>已将 {lines} 行 {name} 代码复制到剪贴板（1 个输入通道）。</translation>
        </message>
        <message>
            <source>Copied {lines} lines of {name} code to the clipboard ({c} input channels).</source>
            <translation>已将 {lines} 行 {name} 代码复制到剪贴板（{c} 个输入通道）。</translation>
        </message>
        <message>
            <source>Damaged: {what}</source>
            <translation>已损坏：{what}</translation>
        </message>
        <message>
            <source>Delete {what}? This cannot be undone.</source>
            <translation>删除{what}？此操作无法撤销。</translation>
        </message>
        <message>
            <source>Disable layer {n}</source>
            <translation>停用第 {n} 层</translation>
        </message>
        <message>
            <source>Discard</source>
            <translation>丢弃</translation>
        </message>
        <message>
            <source>Discard autosaved sessions</source>
            <translation>丢弃自动保存的会话</translation>
        </message>
        <message>
            <source>Duplicate layer {n} ({type})</source>
            <translation>复制第 {n} 层（{type}）</translation>
        </message>
        <message>
            <source>Edit layer {n}</source>
            <translation>编辑第 {n} 层</translation>
        </message>
        <message>
            <source>Enable layer {n}</source>
            <translation>启用第 {n} 层</translation>
        </message>
        <message>
            <source>Export cancelled; nothing was written.</source>
            <translation>导出已取消；未写入任何文件。</translation>
        </message>
        <message>
            <source>Export failed</source>
            <translation>导出失败</translation>
        </message>
        <message>
            <source>Export to</source>
            <translation>导出到</translation>
        </message>
        <message>
            <source>Exported layer {n} to {folders} ({files}: {names})</source>
            <translation>已将第 {n} 层导出到 {folders}（{files}：{names}）</translation>
        </message>
        <message>
            <source>Exporting layer {n} {what}: tile {done} of {total}</source>
            <translation>正在{what}导出第 {n} 层：第 {done} / {total} 块</translation>
        </message>
        <message>
            <source>Exporting layer {n} {what}…</source>
            <translation>正在{what}导出第 {n} 层…</translation>
        </message>
        <message>
            <source>Images (*.png *.jpg *.jpeg *.tif *.tiff *.bmp *.webp *.npy);;All files (*)</source>
            <translation>图像 (*.png *.jpg *.jpeg *.tif *.tiff *.bmp *.webp *.npy);;所有文件 (*)</translation>
        </message>
        <message>
            <source>Import model</source>
            <translation>导入模型</translation>
        </message>
        <message>
            <source>Import {name}</source>
            <translation>导入 {name}</translation>
        </message>
        <message>
            <source>Imported 1 layer from {name}</source>
            <translation>已从 {name} 导入 1 层</translation>
        </message>
        <message>
            <source>Imported {n} layers from {name}</source>
            <translation>已从 {name} 导入 {n} 层</translation>
        </message>
        <message>
            <source>Its map moved back by ({y}, {x}) (the layer's jump is {jy} x {jx})</source>
            <translation>其特征图已移回 ({y}, {x})（该层的跳距为 {jy} x {jx}）</translation>
        </message>
        <message>
            <source>Layer {n}, input shifted by dy = {dy}, dx = {dx} ({fill}).</source>
            <translation>第 {n} 层，输入平移 dy = {dy}，dx = {dx}（{fill}）。</translation>
        </message>
        <message>
            <source>Layer {n}: edit kernel</source>
            <translation>第 {n} 层：编辑卷积核</translation>
        </message>
        <message>
            <source>Layer {n}: edit kernel cell</source>
            <translation>第 {n} 层：编辑卷积核单元</translation>
        </message>
        <message>
            <source>Layer {n}: full weight</source>
            <translation>第 {n} 层：完整权重</translation>
        </message>
        <message>
            <source>Layer {n}: per channel kernel</source>
            <translation>第 {n} 层：逐通道卷积核</translation>
        </message>
        <message>
            <source>Layer {n}: {why}</source>
            <translation>第 {n} 层：{why}</translation>
        </message>
        <message>
            <source>Learn the kernel of layer {n}</source>
            <translation>学习第 {n} 层的卷积核</translation>
        </message>
        <message>
            <source>Learning (estimating the learning rate first)...</source>
            <translation>正在学习（先估计学习率）…</translation>
        </message>
        <message>
            <source>Learning...</source>
            <translation>正在学习…</translation>
        </message>
        <message>
            <source>Load a target file first.</source>
            <translation>请先载入目标文件。</translation>
        </message>
        <message>
            <source>The target file is still being read; start once it has arrived.</source>
            <translation>目标文件仍在读取中；载入完成后再开始。</translation>
        </message>
        <message>
            <source>Move layer {src} to {dst}</source>
            <translation>将第 {src} 层移到第 {dst} 层</translation>
        </message>
        <message>
            <source>New empty pipeline: add layers with Layer ▸ Add</source>
            <translation>新的空流水线：用 层 ▸ 添加 加入层</translation>
        </message>
        <message>
            <source>ONNX models (*.onnx);;All files (*)</source>
            <translation>ONNX 模型 (*.onnx);;所有文件 (*)</translation>
        </message>
        <message>
            <source>Open an image first.</source>
            <translation>请先打开一幅图像。</translation>
        </message>
        <message>
            <source>Opened pipeline {name}</source>
            <translation>已打开流水线 {name}</translation>
        </message>
        <message>
            <source>Opened {name}</source>
            <translation>已打开 {name}</translation>
        </message>
        <message>
            <source>Opened {name}, {w}×{h}: too large to load whole ({why}); the layers are computed on a preview at 1/{f} scale, File ▸ Export computes at full resolution</source>
            <translation>已打开 {name}，{w}×{h}：太大，无法整体载入（{why}）；各层在 1/{f} 比例的预览上计算，文件 ▸ 导出 以全分辨率计算</translation>
        </message>
        <message>
            <source>Output ({row}, {col}), step {n} of {total}: {sum}</source>
            <translation>输出 ({row}, {col})，第 {n} / {total} 步：{sum}</translation>
        </message>
        <message>
            <source>Pasted a {w}×{h} image (1 channel)</source>
            <translation>已粘贴一幅 {w}×{h} 的图像（1 个通道）</translation>
        </message>
        <message>
            <source>Pasted a {w}×{h} image ({c} channels)</source>
            <translation>已粘贴一幅 {w}×{h} 的图像（{c} 个通道）</translation>
        </message>
        <message>
            <source>Pause</source>
            <translation>暂停</translation>
        </message>
        <message>
            <source>Preparing the steps...</source>
            <translation>正在准备各步…</translation>
        </message>
        <message>
            <source>Remove layer {n} ({type})</source>
            <translation>删除第 {n} 层（{type}）</translation>
        </message>
        <message>
            <source>Rename layer</source>
            <translation>重命名层</translation>
        </message>
        <message>
            <source>Restore autosaved changes</source>
            <translation>恢复自动保存的更改</translation>
        </message>
        <message>
            <source>Restore autosaved pipeline</source>
            <translation>恢复自动保存的流水线</translation>
        </message>
        <message>
            <source>Save them first?</source>
            <translation>先保存吗？</translation>
        </message>
        <message>
            <source>Saved {name}</source>
            <translation>已保存 {name}</translation>
        </message>
        <message>
            <source>Saved {when}</source>
            <translation>保存于 {when}</translation>
        </message>
        <message>
            <source>Select a conv or pooling layer to play its window.</source>
            <translation>请选择一个卷积层或池化层来播放其滑动窗口。</translation>
        </message>
        <message>
            <source>Select a layer (not the input) to compare its maps.</source>
            <translation>请选择一个层（不是输入）来比较其特征图。</translation>
        </message>
        <message>
            <source>Select an enabled conv2d layer (with an image open) to learn its kernel.</source>
            <translation>请选择一个已启用的 conv2d 层（并打开一幅图像）来学习其卷积核。</translation>
        </message>
        <message>
            <source>Step {n}: loss {loss} (before the step), learning rate {lr}</source>
            <translation>第 {n} 步：损失 {loss}（该步之前），学习率 {lr}</translation>
        </message>
        <message>
            <source>Still importing {name}…</source>
            <translation>仍在导入 {name}…</translation>
        </message>
        <message>
            <source>Test pattern: {name}</source>
            <translation>测试图案：{name}</translation>
        </message>
        <message>
            <source>The clipboard holds no image.</source>
            <translation>剪贴板中没有图像。</translation>
        </message>
        <message>
            <source>The layer's jump {jy} x {jx} does not divide the shift: the maps are compared where they are</source>
            <translation>该层的跳距 {jy} x {jx} 不能整除平移量：特征图按原位比较</translation>
        </message>
        <message>
            <source>The pipeline changed: the next Start learns afresh from the layer as it is now.</source>
            <translation>流水线已更改：下次“开始”将从该层当前的状态重新学习。</translation>
        </message>
        <message>
            <source>The pipeline has changes that are not saved.</source>
            <translation>流水线有未保存的更改。</translation>
        </message>
        <message>
            <source>This weight multiplies layer {n}'s output, not the image: the input view highlights the first layer's weights</source>
            <translation>此权重乘的是第 {n} 层的输出，而不是图像：输入视图只为第一层的权重高亮像素</translation>
        </message>
        <message>
            <source>Tiled BigTIFF (float32 values as they are, zlib)</source>
            <translation>分块 BigTIFF（float32 原值，zlib 压缩）</translation>
        </message>
        <message>
            <source>Unsaved changes</source>
            <translation>未保存的更改</translation>
        </message>
        <message>
            <source>Zarr array (C, H, W), chunked by tile</source>
            <translation>Zarr 数组 (C, H, W)，按块分片</translation>
        </message>
        <message>
            <source>abs: |x|, then clip to [0, 1]</source>
            <translation>abs：取 |x|，再截断到 [0, 1]</translation>
        </message>
        <message>
            <source>an image</source>
            <translation>图像</translation>
        </message>
        <message>
            <source>at full resolution</source>
            <translation>以全分辨率</translation>
        </message>
        <message>
            <source>at full resolution, tile by tile</source>
            <translation>以全分辨率逐块</translation>
        </message>
        <message>
            <source>auto: signed for feature maps that hold negative values, clip otherwise (convstudio apply clips unless --normalize says otherwise)</source>
            <translation>auto：含负值的特征图用 signed，否则用 clip（convstudio apply 默认 clip，除非 --normalize 另行指定）</translation>
        </message>
        <message>
            <source>channel {c}</source>
            <translation>通道 {c}</translation>
        </message>
        <message>
            <source>clip: values below 0 are black, above 1 white</source>
            <translation>clip：小于 0 的值为黑，大于 1 的值为白</translation>
        </message>
        <message>
            <source>difference</source>
            <translation>差</translation>
        </message>
        <message>
            <source>dropped image</source>
            <translation>拖入的图像</translation>
        </message>
        <message>
            <source>feature maps</source>
            <translation>特征图</translation>
        </message>
        <message>
            <source>image '{name}'</source>
            <translation>图像“{name}”</translation>
        </message>
        <message>
            <source>image '{name}' (too large to autosave: open it again)</source>
            <translation>图像“{name}”（太大，未自动保存：请重新打开）</translation>
        </message>
        <message>
            <source>image lost</source>
            <translation>图像已丢失</translation>
        </message>
        <message>
            <source>importing {name}…</source>
            <translation>正在导入 {name}…</translation>
        </message>
        <message>
            <source>input channel {c}</source>
            <translation>输入通道 {c}</translation>
        </message>
        <message>
            <source>kernel [{o}, {i}]</source>
            <translation>卷积核 [{o}, {i}]</translation>
        </message>
        <message>
            <source>largest |difference| away from the border: {v}</source>
            <translation>远离边界处的最大 |差|：{v}</translation>
        </message>
        <message>
            <source>loading {name}…</source>
            <translation>正在载入 {name}…</translation>
        </message>
        <message>
            <source>loss (mean squared error)</source>
            <translation>损失（均方误差）</translation>
        </message>
        <message>
            <source>min-max: the smallest value is black, the largest white</source>
            <translation>min-max：最小值为黑，最大值为白</translation>
        </message>
        <message>
            <source>no pipeline</source>
            <translation>没有流水线</translation>
        </message>
        <message>
            <source>no position is far enough from the border to compare</source>
            <translation>没有离边界足够远、可以比较的位置</translation>
        </message>
        <message>
            <source>no preview: not enough memory</source>
            <translation>无预览：内存不足</translation>
        </message>
        <message>
            <source>no preview: the image is too large</source>
            <translation>无预览：图像太大</translation>
        </message>
        <message>
            <source>no preview: {why}</source>
            <translation>无预览：{why}</translation>
        </message>
        <message>
            <source>nothing in it can be read</source>
            <translation>其中没有可读取的内容</translation>
        </message>
        <message>
            <source>one RGB image</source>
            <translation>一幅 RGB 图像</translation>
        </message>
        <message>
            <source>one RGBA image</source>
            <translation>一幅 RGBA 图像</translation>
        </message>
        <message>
            <source>one float32 (C, H, W) Zarr array, one chunk per tile</source>
            <translation>一个 float32 (C, H, W) 的 Zarr 数组，每块一个分片</translation>
        </message>
        <message>
            <source>one gray image</source>
            <translation>一幅灰度图像</translation>
        </message>
        <message>
            <source>original</source>
            <translation>原始</translation>
        </message>
        <message>
            <source>pasted image</source>
            <translation>粘贴的图像</translation>
        </message>
        <message>
            <source>output channel {c}</source>
            <translation>输出通道 {c}</translation>
        </message>
        <message>
            <source>pipeline: only its file {name}</source>
            <translation>流水线：只有其文件 {name}</translation>
        </message>
        <message>
            <source>reading a preview of {name}… {percent}%</source>
            <translation>正在读取 {name} 的预览… {percent}%</translation>
        </message>
        <message>
            <source>running maximum</source>
            <translation>累计最大值</translation>
        </message>
        <message>
            <source>running sum</source>
            <translation>累加和</translation>
        </message>
        <message>
            <source>running sum, then / divisor</source>
            <translation>累加和，再除以除数</translation>
        </message>
        <message>
            <source>shifted (moved back)</source>
            <translation>平移后（已移回）</translation>
        </message>
        <message>
            <source>signed: 0 is mid-grey, ±max|x| black / white</source>
            <translation>signed：0 为中灰，±max|x| 为黑 / 白</translation>
        </message>
        <message>
            <source>step</source>
            <translation>步</translation>
        </message>
        <message>
            <source>the float32 (C, H, W) array, exactly</source>
            <translation>float32 (C, H, W) 数组，原样保存</translation>
        </message>
        <message>
            <source>the image is intact</source>
            <translation>图像完好</translation>
        </message>
        <message>
            <source>the pipeline does not fit the image: {why}</source>
            <translation>流水线与图像不匹配：{why}</translation>
        </message>
        <message>
            <source>the pipeline is intact</source>
            <translation>流水线完好</translation>
        </message>
        <message>
            <source>these {n} autosaved sessions</source>
            <translation>这 {n} 个自动保存的会话</translation>
        </message>
        <message>
            <source>this autosaved session</source>
            <translation>这个自动保存的会话</translation>
        </message>
        <message>
            <source>untitled</source>
            <translation>未命名</translation>
        </message>
        <message>
            <source>{kind}, {c} channels: one gray file per channel ({first} …)</source>
            <translation>{kind}，{c} 个通道：每个通道一个灰度文件（{first} …）</translation>
        </message>
        <message>
            <source>{kind}: {what}</source>
            <translation>{kind}：{what}</translation>
        </message>
        <message>
            <source>{name} could not be deleted: {why}</source>
            <translation>无法删除 {name}：{why}</translation>
        </message>
        <message>
            <source>{name} is {w} x {h} ({c}), {why}: the layers are computed on a preview at 1/{f} scale ({how}). File ▸ Export computes at full resolution, tile by tile.</source>
            <translation>{name} 为 {w} x {h}（{c}），{why}：各层在 1/{f} 比例的预览上计算（{how}）。文件 ▸ 导出 以全分辨率逐块计算。</translation>
        </message>
        <message>
            <source>{n} files</source>
            <translation>{n} 个文件</translation>
        </message>
        <message>
            <source>{n} layers</source>
            <translation>{n} 层</translation>
        </message>
        <message>
            <source>{what}: {values}; the map holds {value}</source>
            <translation>{what}：{values}；特征图中的值为 {value}</translation>
        </message>
        <message>
            <source>{where} The layer's receptive field is in fractions of a pixel: compared as is.</source>
            <translation>{where}该层的感受野以像素的分数计：按原样比较。</translation>
        </message>
        <message>
            <source>{where} {moved}; {inner}. Change where the map is: {change} (sum |shifted - original| / sum |original|; 0: unchanged).</source>
            <translation>{where}{moved}；{inner}。特征图所在处的变化：{change}（Σ|平移后 − 原始| / Σ|原始|；0 表示不变）。</translation>
        </message>
        <message>
            <source>session.json does not hold an object</source>
            <translation>session.json 中不是一个对象</translation>
        </message>
        <message>
            <source>session.json is missing</source>
            <translation>缺少 session.json</translation>
        </message>
        <message>
            <source>session.json is not marked as a version 1 autosave (read anyway)</source>
            <translation>session.json 未标记为第 1 版自动保存（仍已读取）</translation>
        </message>
        <message>
            <source>session.json is not valid JSON ({why})</source>
            <translation>session.json 不是有效的 JSON（{why}）</translation>
        </message>
        <message>
            <source>the image could not be read: {why}</source>
            <translation>无法读取图像：{why}</translation>
        </message>
        <message>
            <source>the image is taken from {name}</source>
            <translation>图像取自 {name}</translation>
        </message>
        <message>
            <source>the image record could not be read ({why}); {name} is used</source>
            <translation>无法读取图像记录（{why}）；改用 {name}</translation>
        </message>
        <message>
            <source>the pipeline could not be read: it is missing</source>
            <translation>无法读取流水线：它不存在</translation>
        </message>
        <message>
            <source>the pipeline could not be read: its names hold invalid characters</source>
            <translation>无法读取流水线：其名称含有无效字符</translation>
        </message>
        <message>
            <source>the pipeline could not be read: {why}</source>
            <translation>无法读取流水线：{why}</translation>
        </message>
        <message>
            <source>the pipeline's file name could not be read</source>
            <translation>无法读取流水线的文件名</translation>
        </message>
        <message>
            <source>the selected layer could not be read (the input is selected)</source>
            <translation>无法读取所选的层（已选中输入）</translation>
        </message>
        <message>
            <source>the time saved could not be read</source>
            <translation>无法读取保存时间</translation>
        </message>
        <message>
            <source>the time saved could not be read (the file's time is shown)</source>
            <translation>无法读取保存时间（显示的是文件的时间）</translation>
        </message>
        <message>
            <source>whether it had unsaved changes could not be read (kept as unsaved)</source>
            <translation>无法读取是否有未保存的更改（按未保存处理）</translation>
        </message>
        <message>
            <source>Did not open {name}: the pipeline changed while the file was read. Open it again to replace the pipeline.</source>
            <translation>未打开 {name}：读取文件期间流水线已更改。再次打开即可替换流水线。</translation>
        </message>
        <message>
            <source>Saved {name}; the changes made while it was being written are not saved yet</source>
            <translation>已保存 {name}；写入期间所做的更改尚未保存</translation>
        </message>
        <message>
            <source>The pipeline is still being saved: the window stays open until it is written.</source>
            <translation>流水线仍在保存：写入完成前窗口保持打开。</translation>
        </message>
        <message>
            <source>opening {name}…</source>
            <translation>正在打开 {name}…</translation>
        </message>
        <message>
            <source>saving {name}…</source>
            <translation>正在保存 {name}…</translation>
        </message>
        <message>
            <source>Restored the autosaved session</source>
            <translation>已恢复自动保存的会话</translation>
        </message>
        <message>
            <source>Restored the autosaved session: {problems}</source>
            <translation>已恢复自动保存的会话：{problems}</translation>
        </message>
        <message>
            <source>another image was opened before the autosaved one arrived</source>
            <translation>自动保存的图像载入完成前，已打开了另一张图像</translation>
        </message>
        <message>
            <source>another session was restored before its image arrived</source>
            <translation>其图像载入完成前，已恢复了另一个会话</translation>
        </message>
        <message>
            <source>session.json cannot be read ({why})</source>
            <translation>无法读取 session.json（{why}）</translation>
        </message>
        <message>
            <source>session.json is larger than {size} MiB</source>
            <translation>session.json 大于 {size} MiB</translation>
        </message>
        <message>
            <source>session.json is not UTF-8 text ({why})</source>
            <translation>session.json 不是 UTF-8 文本（{why}）</translation>
        </message>
        <message>
            <source>session.json is not a regular file</source>
            <translation>session.json 不是普通文件</translation>
        </message>
        <message>
            <source>the autosaved image is unreadable ({why})</source>
            <translation>无法读取自动保存的图像（{why}）</translation>
        </message>
        <message>
            <source>the image '{name}' was too large to autosave; open it again</source>
            <translation>图像“{name}”太大，未自动保存；请重新打开</translation>
        </message>
        <message>
            <source>the image could not be opened again ({why})</source>
            <translation>无法重新打开图像（{why}）</translation>
        </message>
        <message>
            <source>the pipeline was opened from its file {name}</source>
            <translation>流水线已从其文件 {name} 打开</translation>
        </message>
        <message>
            <source>the pipeline's file could not be read ({why}); the pipeline is untitled</source>
            <translation>无法读取流水线的文件（{why}）；流水线现为未命名</translation>
        </message>
        <message>
            <source>the pipeline's file could not be read either ({why})</source>
            <translation>流水线的文件也无法读取（{why}）</translation>
        </message>
        <message>
            <source>{message}. The original is kept in {folder}</source>
            <translation>{message}。原始会话保留在 {folder}</translation>
        </message>
        <message>
            <source>{note}; its file {name} can be opened instead</source>
            <translation>{note}；可改为打开其文件 {name}</translation>
        </message>
        <message>
            <source>An autosaved session could not be read ({why}) nor moved aside ({reason}); it stays in {folder}.</source>
            <translation>一个自动保存的会话无法读取（{why}），也无法移到一旁（{reason}）；它仍在 {folder}。</translation>
        </message>
        <message>
            <source>An autosaved session could not be read ({why}); it is kept in {folder}.</source>
            <translation>一个自动保存的会话无法读取（{why}）；它保留在 {folder}。</translation>
        </message>
        <message>
            <source> (every {step})</source>
            <translation>（间隔 {step}）</translation>
        </message>
        <message>
            <source>&amp;Redo {what}</source>
            <translation>重做 {what}(&amp;R)</translation>
        </message>
        <message>
            <source>&amp;Undo {what}</source>
            <translation>撤销 {what}(&amp;U)</translation>
        </message>
        <message>
            <source>(Preview pixels: 1/{f} of the image.)</source>
            <translation>（预览像素：图像的 1/{f}。）</translation>
        </message>
        <message>
            <source>(sum of {n} values) / {divisor} = {value}</source>
            <translation>（{n} 个值之和）/ {divisor} = {value}</translation>
        </message>
        <message>
            <source>(the value in layer {n}'s map)</source>
            <translation>（第 {n} 层特征图中的值）</translation>
        </message>
        <message>
            <source>(the value in layer {n}'s map), from one input channel, no bias</source>
            <translation>（第 {n} 层特征图中的值），来自单个输入通道，无偏置</translation>
        </message>
        <message>
            <source>({n} terms)</source>
            <translation>（共 {n} 项）</translation>
        </message>
        <message>
            <source>&lt;b&gt;ERF&lt;/b&gt; of layer {n}, channel {channel}, row {row}, col {col}: how much each input pixel moves this value (∂y/∂x; red positive, blue negative, transparent: no influence).</source>
            <translation>第 {n} 层、通道 {channel}、第 {row} 行、第 {col} 列的 &lt;b&gt;ERF&lt;/b&gt;：每个输入像素使这个值变化多少（∂y/∂x；红色为正，蓝色为负，透明表示没有影响）。</translation>
        </message>
        <message>
            <source>&lt;b&gt;Input channel {c}&lt;/b&gt; — rows {rows}, cols {cols}: sum &lt;b&gt;{sum}&lt;/b&gt;</source>
            <translation>&lt;b&gt;输入通道 {c}&lt;/b&gt;——第 {rows} 行、第 {cols} 列：和为 &lt;b&gt;{sum}&lt;/b&gt;</translation>
        </message>
        <message>
            <source>&lt;b&gt;Layer {n}&lt;/b&gt; ({type}) · channel {channel} · row {row}, col {col}</source>
            <translation>&lt;b&gt;第 {n} 层&lt;/b&gt;（{type}）· 通道 {channel} · 第 {row} 行，第 {col} 列</translation>
        </message>
        <message>
            <source>A transposed convolution spreads every input value over the output with the kernel; these input values (rows and columns of the previous map) land on this pixel, each meeting one kernel tap.</source>
            <translation>转置卷积用卷积核把每个输入值铺展到输出上；下面这些输入值（上一层特征图的行和列）落在这个像素上，每个值各对上卷积核的一个抽头。</translation>
        </message>
        <message>
            <source>Cells marked · hang beyond the padded input (ceil mode): they count neither as a value nor in the divisor.</source>
            <translation>标有 · 的格子超出了填充后的输入（向上取整模式）：它们既不算作数值，也不计入除数。</translation>
        </message>
        <message>
            <source>Clear list</source>
            <translation>清空列表</translation>
        </message>
        <message>
            <source>Click a pixel of a layer's feature maps to see how its value was computed.</source>
            <translation>单击某一层特征图上的一个像素，查看它的值是如何算出来的。</translation>
        </message>
        <message>
            <source>Computing the effective receptive field of layer {n} (row {row}, col {col})…</source>
            <translation>正在计算第 {n} 层（第 {row} 行，第 {col} 列）的有效感受野…</translation>
        </message>
        <message>
            <source>Copied from input row {row}, col {col} (value {value}).</source>
            <translation>复制自输入的第 {row} 行，第 {col} 列（值为 {value}）。</translation>
        </message>
        <message>
            <source>ERF heat map: click a pixel of the selected layer.</source>
            <translation>ERF 热图：单击所选层的一个像素。</translation>
        </message>
        <message>
            <source>ERF: {why}</source>
            <translation>ERF：{why}</translation>
        </message>
        <message>
            <source>Every gradient is 0 here: no input pixel changes this value (a ReLU that is off, or a max pool whose winner lies elsewhere).</source>
            <translation>这里的梯度全为 0：没有任何输入像素能改变这个值（某个 ReLU 处于截止状态，或某个最大池化的胜出者在别处）。</translation>
        </message>
        <message>
            <source>Input (same position in the previous layer): &lt;b&gt;{value}&lt;/b&gt;</source>
            <translation>输入（上一层的同一位置）：&lt;b&gt;{value}&lt;/b&gt;</translation>
        </message>
        <message>
            <source>Input channel {c} — rows {rows}, cols {cols}</source>
            <translation>输入通道 {c}——第 {rows} 行、第 {cols} 列</translation>
        </message>
        <message>
            <source>Kept from input row {row}, col {col} (value {value}); the rows and columns in between are skipped.</source>
            <translation>保留自输入的第 {row} 行，第 {col} 列（值为 {value}）；其间的行和列被跳过。</translation>
        </message>
        <message>
            <source>No input value lands here: the value is the bias {bias}.</source>
            <translation>没有输入值落在这里：该值就是偏置 {bias}。</translation>
        </message>
        <message>
            <source>Nonzero over rows {rows}, cols {cols} ({h} × {w}; the theoretical field is {rf_h} × {rf_w}); {n} pixels influence it.</source>
            <translation>非零范围为第 {rows} 行、第 {cols} 列（{h} × {w}；理论感受野为 {rf_h} × {rf_w}）；有 {n} 个像素影响它。</translation>
        </message>
        <message>
            <source>Redo {what}</source>
            <translation>重做 {what}</translation>
        </message>
        <message>
            <source>Shaded cells are padding; they count as 0 (and in the divisor unless count_include_pad is off).</source>
            <translation>灰色格子是填充；它们按 0 计（除非关闭了“平均时计入填充”，否则也计入除数）。</translation>
        </message>
        <message>
            <source>Shaded cells are padding; they pad with −∞: they never win.</source>
            <translation>灰色格子是填充；它们以 −∞ 填充，永远不会胜出。</translation>
        </message>
        <message>
            <source>Shaded cells lie in the padding (outside the layer's input); they hold what the padding mode put there.</source>
            <translation>灰色格子位于填充区域（在该层的输入之外）；其中是填充模式填入的值。</translation>
        </message>
        <message>
            <source>Showing the top-left {r} × {c} of the {rows} × {cols} cells; the sums run over all of them.</source>
            <translation>显示 {rows} × {cols} 个格子中左上角的 {r} × {c} 个；求和覆盖全部格子。</translation>
        </message>
        <message>
            <source>Sum of all gradients {sum}; strongest at row {row}, col {col}.</source>
            <translation>所有梯度之和为 {sum}；最强处在第 {row} 行，第 {col} 列。</translation>
        </message>
        <message>
            <source>Sum {sum} / divisor {divisor}</source>
            <translation>和 {sum} / 除数 {divisor}</translation>
        </message>
        <message>
            <source>That is the value in layer {n}'s map.</source>
            <translation>这就是第 {n} 层特征图中的值。</translation>
        </message>
        <message>
            <source>The exact sum of these products is &lt;b&gt;{exact}&lt;/b&gt;; the map's value differs from it by more than float32 rounding allows for this sum ({bound}). The map was computed from other numbers than the ones shown here (a stale map, or an input with infinities or NaN).</source>
            <translation>这些乘积的精确和为 &lt;b&gt;{exact}&lt;/b&gt;；特征图中的值与它的差超出了 float32 舍入对这个和所允许的范围（{bound}）。特征图是由与这里所示不同的数算出来的（特征图已过时，或输入中含有无穷大或 nan）。</translation>
        </message>
        <message>
            <source>The largest value wins: input row {row}, col {col} (highlighted; the first one in reading order on a tie).</source>
            <translation>最大值胜出：输入的第 {row} 行，第 {col} 列（已高亮；并列时取按阅读顺序的第一个）。</translation>
        </message>
        <message>
            <source>The layer is disabled: it passes its input ({value}) through.</source>
            <translation>该层已停用：它把输入（{value}）原样传下去。</translation>
        </message>
        <message>
            <source>This cell is padding with a constant value.</source>
            <translation>这个格子是用常数值填充的。</translation>
        </message>
        <message>
            <source>Total (channel sums and bias):</source>
            <translation>总计（各通道之和加偏置）：</translation>
        </message>
        <message>
            <source>Total (channel sums):</source>
            <translation>总计（各通道之和）：</translation>
        </message>
        <message>
            <source>Total: &lt;b&gt;{value}&lt;/b&gt;</source>
            <translation>总计：&lt;b&gt;{value}&lt;/b&gt;</translation>
        </message>
        <message>
            <source>Undo {what}</source>
            <translation>撤销 {what}</translation>
        </message>
        <message>
            <source>Upsampling ({mode}) takes the input pixels around (row + 0.5) / scale − 0.5 (clamped at the border), weighted by closeness:</source>
            <translation>上采样（{mode}）取 (行 + 0.5) / 倍数 − 0.5 周围的输入像素（在边界处截断），按远近加权：</translation>
        </message>
        <message>
            <source>Upsampling ({mode}) takes the nearest input pixel, floor(row / scale), floor(col / scale):</source>
            <translation>上采样（{mode}）取最近的输入像素，即 floor(行 / 倍数)、floor(列 / 倍数)：</translation>
        </message>
        <message>
            <source>Value in layer {n}'s map: &lt;b&gt;{value}&lt;/b&gt;</source>
            <translation>第 {n} 层特征图中的值：&lt;b&gt;{value}&lt;/b&gt;</translation>
        </message>
        <message>
            <source>kernel</source>
            <translation>卷积核</translation>
        </message>
        <message>
            <source>leaky_relu(x) = x if x &gt; 0 else slope · x</source>
            <translation>leaky_relu(x) = x（当 x &gt; 0），否则为 斜率 · x</translation>
        </message>
        <message>
            <source>products</source>
            <translation>乘积</translation>
        </message>
        <message>
            <source>row {row}, col {col}</source>
            <translation>第 {row} 行，第 {col} 列</translation>
        </message>
        <message>
            <source>window</source>
            <translation>窗口</translation>
        </message>
        <message>
            <source>window (average)</source>
            <translation>窗口（平均值）</translation>
        </message>
        <message>
            <source>window (max)</source>
            <translation>窗口（最大值）</translation>
        </message>
        <message>
            <source>{bias} (bias)</source>
            <translation>{bias}（偏置）</translation>
        </message>
        <message>
            <source>{first} to {last}</source>
            <translation>{first} 至 {last}</translation>
        </message>
        <message>
            <source>{n} more input channels (their windows are not drawn):</source>
            <translation>另有 {n} 个输入通道（未画出它们的窗口）：</translation>
        </message>
        <message>
            <source>All {n} layers agree with OpenCV within the float32 tolerance ({t} × max(1, the layer's magnitude)).</source>
            <translation>全部 {n} 层都与 OpenCV 一致，差异在 float32 容差之内（{t} × max(1, 该层的数值量级)）。</translation>
        </message>
        <message>
            <source>Layer {first} does not fit its input: nothing to check from there on.</source>
            <translation>第 {first} 层与其输入不匹配：从这一层起没有可核对的内容。</translation>
        </message>
        <message>
            <source>Layer {n} ({type}): max |core − OpenCV| = {diff}, allowed {t} × {scale} (the layer's magnitude); OpenCV took {time}</source>
            <translation>第 {n} 层（{type}）：最大 |内核 − OpenCV| = {diff}，允许误差 {t} × {scale}（该层的数值量级）；OpenCV 耗时 {time}</translation>
        </message>
        <message>
            <source>Layer {n} ({type}): {name}; max difference {diff}</source>
            <translation>第 {n} 层（{type}）：{name}；最大差异 {diff}</translation>
        </message>
        <message>
            <source>Layer {n} differs from OpenCV by more than the tolerance.</source>
            <translation>第 {n} 层与 OpenCV 的差异超出了容差。</translation>
        </message>
        <message>
            <source>Layers {layers} differ from OpenCV by more than the tolerance.</source>
            <translation>第 {layers} 层与 OpenCV 的差异超出了容差。</translation>
        </message>
        <message>
            <source>No layers to check.</source>
            <translation>没有可核对的层。</translation>
        </message>
        <message>
            <source>The layer agrees with OpenCV within the float32 tolerance ({t} × max(1, the layer's magnitude)).</source>
            <translation>该层与 OpenCV 一致，差异在 float32 容差之内（{t} × max(1, 该层的数值量级)）。</translation>
        </message>
        <message>
            <source>Waiting for the layers to be computed…</source>
            <translation>正在等待各层计算完成…</translation>
        </message>
        <message>
            <source>|core − OpenCV| (the reference rounded to float32)</source>
            <translation>|内核 − OpenCV|（参考结果舍入为 float32）</translation>
        </message>
        <message>
            <source>✓ agrees</source>
            <translation>✓ 一致</translation>
        </message>
        <message>
            <source>✗ differs</source>
            <translation>✗ 不一致</translation>
        </message>
        <message>
            <source>✗ differs ({why})</source>
            <translation>✗ 不一致（{why}）</translation>
        </message>
        <message>
            <source>internal error: {type}: {why}</source>
            <translation>内部错误：{type}：{why}</translation>
        </message>
        <message>
            <source>not enough memory for this computation</source>
            <translation>内存不足，无法完成这次计算</translation>
        </message>
        <message>
            <source>Less&amp;ons</source>
            <translation>课程(&amp;O)</translation>
        </message>
        <message>
            <source>(out {row}, in {col})</source>
            <translation>(输出 {row}, 输入 {col})</translation>
        </message>
        <message>
            <source>(out {row}, {input})</source>
            <translation>(输出 {row}, {input})</translation>
        </message>
        <message>
            <source>Normalised each output channel (row) to sum 1</source>
            <translation>已将每个输出通道（行）归一化为和为 1</translation>
        </message>
        <message>
            <source>Not normalised: every output channel's weights sum to 0. Left unchanged.</source>
            <translation>未归一化：每个输出通道的权重之和都为 0。保持不变。</translation>
        </message>
        <message>
            <source>in {n}</source>
            <translation>输入 {n}</translation>
        </message>
        <message>
            <source>out {n}</source>
            <translation>输出 {n}</translation>
        </message>
        <message>
            <source>out {row} += {value} x {input}</source>
            <translation>输出 {row} += {value} x {input}</translation>
        </message>
        <message>
            <source>{what}.</source>
            <translation>{what}。</translation>
        </message>
        <message>
            <source>{what}: nothing changed.</source>
            <translation>{what}：没有任何变化。</translation>
        </message>
        <message>
            <source>{what}; rows summing to 0 left unchanged: out {rows}</source>
            <translation>{what}；和为 0 的行保持不变：输出通道 {rows}</translation>
        </message>
        <message>
            <source>Already normalised (the weights sum to 1): nothing changed.</source>
            <translation>已经归一化（权重之和为 1）：没有任何变化。</translation>
        </message>
        <message>
            <source>Cannot rotate a {shape} kernel: it would change its shape.</source>
            <translation>无法旋转 {shape} 的卷积核：旋转会改变它的形状。</translation>
        </message>
        <message>
            <source>Cannot rotate a {shape} matrix: it would change its shape.</source>
            <translation>无法旋转 {shape} 的矩阵：旋转会改变它的形状。</translation>
        </message>
        <message>
            <source>Cannot transpose a {shape} kernel: it would change its shape.</source>
            <translation>无法转置 {shape} 的卷积核：转置会改变它的形状。</translation>
        </message>
        <message>
            <source>Cannot transpose a {shape} matrix: it would change its shape.</source>
            <translation>无法转置 {shape} 的矩阵：转置会改变它的形状。</translation>
        </message>
        <message>
            <source>Cleared</source>
            <translation>已清零</translation>
        </message>
        <message>
            <source>Copied {what} as tab-separated text.</source>
            <translation>已将{what}复制为制表符分隔的文本。</translation>
        </message>
        <message>
            <source>Flipped horizontally</source>
            <translation>已左右翻转</translation>
        </message>
        <message>
            <source>Flipped vertically</source>
            <translation>已上下翻转</translation>
        </message>
        <message>
            <source>Multiply every weight by (e.g. 2, 0.5, 1/9):</source>
            <translation>每个权重乘以（例如 2、0.5、1/9）：</translation>
        </message>
        <message>
            <source>Normalised: divided by the sum, {total}</source>
            <translation>已归一化：除以权重之和 {total}</translation>
        </message>
        <message>
            <source>Not normalised: the kernel sums to 0 (as edge detectors do), and dividing by the sum would divide by zero. Left unchanged.</source>
            <translation>未归一化：卷积核之和为 0（边缘检测器都是这样），除以这个和就是除以零。保持不变。</translation>
        </message>
        <message>
            <source>Not randomised: {why}</source>
            <translation>未随机化：{why}</translation>
        </message>
        <message>
            <source>Not scaled: multiplying by {factor} overflows float32.</source>
            <translation>未缩放：乘以 {factor} 会超出 float32 的范围。</translation>
        </message>
        <message>
            <source>Not scaled: {factor} is not a finite number.</source>
            <translation>未缩放：{factor} 不是有限的数。</translation>
        </message>
        <message>
            <source>Not scaled: {why}</source>
            <translation>未缩放：{why}</translation>
        </message>
        <message>
            <source>Nothing pasted: a {block} block at row {top}, column {left} would run past the {shape} kernel. Pick a cell further up or left.</source>
            <translation>未粘贴：{block} 的数据块放在第 {top} 行、第 {left} 列会超出 {shape} 的卷积核。请选一个更靠上或更靠左的单元格。</translation>
        </message>
        <message>
            <source>Nothing pasted: the clipboard does not hold a table of numbers.</source>
            <translation>未粘贴：剪贴板里不是一个数字表格。</translation>
        </message>
        <message>
            <source>Nothing pasted: the clipboard holds a {block} block, larger than the {shape} kernel. Change the kernel size first.</source>
            <translation>未粘贴：剪贴板里是 {block} 的数据块，比 {shape} 的卷积核大。请先修改卷积核大小。</translation>
        </message>
        <message>
            <source>Nothing pasted: the clipboard holds no text.</source>
            <translation>未粘贴：剪贴板里没有文本。</translation>
        </message>
        <message>
            <source>Nothing pasted: the clipboard holds non-finite numbers.</source>
            <translation>未粘贴：剪贴板里有非有限的数。</translation>
        </message>
        <message>
            <source>Nothing pasted: {why}</source>
            <translation>未粘贴：{why}</translation>
        </message>
        <message>
            <source>Nothing to copy: this layer has no kernel.</source>
            <translation>没有可复制的内容：这一层没有卷积核。</translation>
        </message>
        <message>
            <source>Pasted a {shape} block</source>
            <translation>已粘贴 {shape} 的数据块</translation>
        </message>
        <message>
            <source>Pasted a {shape} block at row {top}, column {left}</source>
            <translation>已在第 {top} 行、第 {left} 列粘贴 {shape} 的数据块</translation>
        </message>
        <message>
            <source>Preset is {shape}, the layer's kernel is {kernel}: change the kernel size first.</source>
            <translation>预设是 {shape}，这一层的卷积核是 {kernel}：请先修改卷积核大小。</translation>
        </message>
        <message>
            <source>Preset not applied: {why}</source>
            <translation>未应用预设：{why}</translation>
        </message>
        <message>
            <source>Preset {label}</source>
            <translation>预设 {label}</translation>
        </message>
        <message>
            <source>Preset {label} not applied: it cannot be built at the layer's kernel size {shape} ({why}): change the kernel size first.</source>
            <translation>未应用预设 {label}：无法按这一层的卷积核大小 {shape} 生成它（{why}）：请先修改卷积核大小。</translation>
        </message>
        <message>
            <source>Preset {label} not applied: it is a spatial kernel, and this 1 x 1 layer only mixes channels. Edit the matrix, or change the kernel size first.</source>
            <translation>未应用预设 {label}：它是空间卷积核，而这个 1 x 1 层只混合通道。请编辑矩阵，或先修改卷积核大小。</translation>
        </message>
        <message>
            <source>Preset {label} not applied: it is a {shape} weight (out x in x kh x kw) and this layer has {layer}. Change the layer's channels and kernel size first.</source>
            <translation>未应用预设 {label}：它是 {shape} 的权重（输出 x 输入 x kh x kw），而这一层是{layer}。请先修改这一层的通道数和卷积核大小。</translation>
        </message>
        <message>
            <source>Preset {label} not applied: {why}</source>
            <translation>未应用预设 {label}：{why}</translation>
        </message>
        <message>
            <source>Randomised (uniform in [-1, 1])</source>
            <translation>已随机化（在 [-1, 1] 中均匀分布）</translation>
        </message>
        <message>
            <source>Rotated by 90°</source>
            <translation>已旋转 90°</translation>
        </message>
        <message>
            <source>Scale kernel</source>
            <translation>缩放卷积核</translation>
        </message>
        <message>
            <source>Scaled by {factor}</source>
            <translation>已缩放 {factor} 倍</translation>
        </message>
        <message>
            <source>This layer has no kernel to edit.</source>
            <translation>这一层没有可编辑的卷积核。</translation>
        </message>
        <message>
            <source>This layer's kernel is read-only.</source>
            <translation>这一层的卷积核是只读的。</translation>
        </message>
        <message>
            <source>Transposed</source>
            <translation>已转置</translation>
        </message>
        <message>
            <source>Zeroed a cell</source>
            <translation>已将一个单元格置零</translation>
        </message>
        <message>
            <source>Zeroed {height} x {width} cells</source>
            <translation>已将 {height} x {width} 个单元格置零</translation>
        </message>
        <message>
            <source>a single {shape} kernel</source>
            <translation>一个 {shape} 的卷积核</translation>
        </message>
        <message>
            <source>a {shape} weight</source>
            <translation>{shape} 的权重</translation>
        </message>
        <message>
            <source>the {shape} kernel</source>
            <translation> {shape} 的卷积核</translation>
        </message>
        <message>
            <source>the {shape} matrix</source>
            <translation> {shape} 的矩阵</translation>
        </message>
        <message>
            <source>{height} x {width} cells</source>
            <translation> {height} x {width} 个单元格</translation>
        </message>
    </context>
</TS>
